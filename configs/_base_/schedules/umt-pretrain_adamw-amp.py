# Optimisation of the UMT pretraining recipes (run_umt_pretraining.py): AdamW betas (0.9, 0.95),
# eps 1e-8, constant weight decay 0.05, no weight decay on 1-D parameters, biases and the
# reference's no-decay names, no layer decay, no gradient clipping, mixed precision with a
# dynamic loss scale (torch.cuda.amp GradScaler defaults). lr 1.5e-4 x 2048 / 256 = 1.2e-3 for
# the reference's effective batch of 2048 (32 processes x 64 clips); a linear warmup from 0 over
# 40 epochs, then a per-iteration cosine to min lr 1e-5 x 2048 / 256 = 8e-5 at epoch 201.
# Without CUDA, umt_mm's tools/train.py turns the AmpOptimWrapper into CPU autocast.
_base_ = ['../default_runtime.py']

optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='float16',
    loss_scale='dynamic',
    # fused=True: torch's single-kernel AdamW (CPU and CUDA), the same update as the default
    # per-tensor loop; on a CPU the loop took ~10x longer (a third of a B/16 step, see
    # docs/benchmarks.md)
    optimizer=dict(type='AdamW', lr=1.2e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.05,
                   fused=True),
    # the layer-decay constructor with rate 1.0 (no decay) applies the reference's no-decay
    # set and leaves the frozen teacher out of the optimizer
    constructor='UMTLayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=1.0,
        no_decay_names=['pos_embed', 'cls_token', 'mask_token', 'clip_mask_token',
                        'clip_pos_embed']))

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=201)
val_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = None
test_dataloader = None
test_evaluator = None

# warmup from 0 to the full lr over 40 epochs, per iteration (MMEngine's LinearLR divides by
# its previous factor, so it starts at 1e-6 x lr = 1.2e-9 rather than exactly 0); then cosine
# to lr / 15 (= 8e-5 at lr 1.2e-3; a ratio, so the lr scaling scales it as the reference does)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=True, begin=0, end=40,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=161, eta_min_ratio=1 / 15, by_epoch=True, begin=40,
         end=201, convert_to_iter_based=True)
]

default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=3, save_best=None),
    # a run killed mid-epoch loses at most 1/10 of an epoch: iter_<n>.pth every 1/10 epoch
    # (the last 2 kept) beside the epoch checkpoints, and --resume continues exactly
    # (ExactResumeHook: the trained batches skipped, every draw seeded from the seed and the
    # position in training; docs/reliability.md)
    exact_resume=dict(type='ExactResumeHook'),
    iter_checkpoint=dict(type='EpochFractionCheckpointHook', fraction=0.1, max_keep_ckpts=2,
                         max_overhead=0.02),
    logger=dict(interval=20))

# lr above is for 32 processes x 64 clips (1.5e-4 per 256); on any other set-up umt_mm's
# EffectiveBatchLRHook (default_runtime.py) scales lr and min lr (a ratio) by
# processes x batch x accumulative_counts / 2048, as the reference always does. Off:
# --no-auto-scale-lr or --cfg-options auto_scale_lr.enable=False (the lr as written).
auto_scale_lr = dict(enable=True, base_batch_size=2048)
