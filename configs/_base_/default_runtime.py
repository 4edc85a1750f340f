# Runtime shared by every umt_mm config (MMAction2's default runtime + the plugin import).
custom_imports = dict(imports=['umt_mm'], allow_failed_imports=False)
default_scope = 'mmaction'

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, ignore_last=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    sync_buffers=dict(type='SyncBuffersHook'),
    # lr x effective batch / auto_scale_lr.base_batch_size, the batch counted as the UMT
    # reference counts it (processes x batch x repeats x accumulation); logs the effective
    # batch, the lr per 256 clips and the actual, warmup and minimum lr at the start of a run
    lr_scaling=dict(type='EffectiveBatchLRHook'),
    # data time's share of each iteration in the log; one warning with a worker count when
    # the loader is the bottleneck (docs/data_pipeline.md)
    data_time=dict(type='DataTimeHook'))

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # nccl on GPUs; umt_mm falls back to gloo automatically when CUDA is unavailable
    dist_cfg=dict(backend='nccl'))

log_processor = dict(type='LogProcessor', window_size=20, by_epoch=True)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='ActionVisualizer', vis_backends=vis_backends)

# The reference seeds torch / numpy with seed + rank in every process (`run_*.py`: seed 0,
# AVA L/16 6666), so drop path, mask draws, mixup and augmentation differ between GPUs.
# MMEngine: diff_rank_seed adds the rank; the DefaultSampler then shuffles with a seed drawn
# from rank 0's seeded generator and broadcast (the same order on every rank, the same on a
# rerun); dataloader workers get seed + rank + num_workers x rank + worker id.
# tools/train.py --seed N / --no-diff-rank-seed change these.
randomness = dict(seed=0, diff_rank_seed=True)

log_level = 'INFO'
load_from = None
resume = False

# Reliability switches of umt_mm, all off by default (docs/reliability.md):
# custom_hooks = [
#     dict(type='NumericGuardHook', action='stop'),  # or 'skip': no step on a NaN/Inf loss/grad
#     dict(type='ExactResumeHook'),  # --resume after a kill continues exactly (same losses)
# ]
# default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1000, by_epoch=False))
# load_from_strict = True  # fail unless every key and shape of load_from matches the model
# load_from_trusted = True  # allow pickled objects in load_from (files you trust only)
# Unreadable videos: tools/train.py / tools/test.py --skip-bad-videos 0.01, or wrap a dataset:
#   dataset=dict(type='SkipBadVideos', max_fraction=0.01, dataset=dict(type='VideoDataset', ...))
#   plus custom_hooks=[dict(type='BadVideoReportHook')] (counts in bad_videos_*.json).
