# Optimisation shared by the UMT finetuning recipes (run_class_finetuning.py): AdamW (0.9, 0.999),
# eps 1e-8, constant weight decay, no weight decay on 1-D params / biases / positions,
# layer-wise lr decay from the model's get_layer_depth, no gradient clipping, fp16 mixed
# precision with a dynamic loss scale starting at 2**7 and growing every 128 steps (the
# reference's DeepSpeed fp16 settings). Without CUDA, umt_mm's tools/train.py switches the
# AmpOptimWrapper to bf16 CPU autocast. Each recipe sets lr, weight decay, layer decay and
# its warmup + per-iteration cosine schedule (param_scheduler).
_base_ = ['../default_runtime.py']

optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='float16',
    loss_scale=dict(init_scale=2.0**7, growth_interval=128),
    optimizer=dict(
        type='AdamW', lr=4e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05),
    constructor='UMTLayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.75))

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=35, val_begin=1, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

val_evaluator = dict(
    type='AccMetric',
    metric_list=('top_k_accuracy', 'mean_class_accuracy'),
    metric_options=dict(top_k_accuracy=dict(topk=(1, 5))))
test_evaluator = val_evaluator

default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=3, save_best='acc/top1', rule='greater'),
    # a run killed mid-epoch loses at most 1/10 of an epoch: iter_<n>.pth every 1/10 epoch
    # (the last 2 kept) beside the epoch checkpoints, and --resume continues exactly
    # (ExactResumeHook: the trained batches skipped, every draw seeded from the seed and the
    # position in training; docs/reliability.md)
    exact_resume=dict(type='ExactResumeHook'),
    iter_checkpoint=dict(type='EpochFractionCheckpointHook', fraction=0.1, max_keep_ckpts=2,
                         max_overhead=0.02),
    logger=dict(interval=100))

# The reference scales the script's lr, warmup lr and min lr by total batch / 256, the total
# counted as GPUs x batch x repeats (x update_freq). The recipes write the actual lr of the
# official 16-GPU run and base_batch_size = its effective batch (16 x batch x repeats); on
# any other set-up umt_mm's EffectiveBatchLRHook (default_runtime.py) scales lr, warmup start
# and minimum (ratios here) of every layer-decay group by effective batch / base_batch_size,
# the effective batch counting processes x batch x repeats x accumulative_counts. Off:
# --no-auto-scale-lr or --cfg-options auto_scale_lr.enable=False (the lr as written).
auto_scale_lr = dict(enable=True, base_batch_size=512)
