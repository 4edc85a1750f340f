"""What the benchmark measures, split by concern; every measurement returns a dict.

* :mod:`.cpu`: the CPU's description and fp32 matmul peak;
* :mod:`.timing`: best-of and alternating-round timing, the median;
* :mod:`.process`: this process's memory, measurements in fresh child processes;
* :mod:`.attention`: the naive attention baseline patched into a UMT model;
* :mod:`.model`: the backbone's inference and train step, sdpa vs naive;
* :mod:`.detection`: the AVA detector's forward, sdpa vs naive;
* :mod:`.pretrain`: the pretraining step, ours vs the reference's computation;
* :mod:`.data`: the recipes' data pipelines per stage and decoding;
* :mod:`.export`: the ONNX-exported recognizer in onnxruntime vs eager;
* :mod:`.device`: train steps on a GPU (clips/s, MFU) against the data loader;
* :mod:`.inference`: CPU inference per precision (fp32 / bf16 / int8, compiled) against the
  CPU's paper and measured GEMM peaks, attention / linears / rest apart;
* :mod:`.cli`: the command line (``python -m umt_mm.benchmark`` or
  ``tools/analysis_tools/benchmark.py``).
"""
from .attention import naive_attention, naive_attention_forward
from .cpu import cpu_description, matmul_peak_gflops
from .data import (
    DATA_RECIPES,
    DATA_STAGES,
    DATA_VARIANTS,
    SET_VARIANTS,
    StagedPipeline,
    data_benchmark,
    data_rows,
    data_sample,
    data_stage,
    prepare_data_sets,
    recipe_pipeline,
    variant_pipeline,
)
from .detection import (
    DETECTION_CONFIG,
    build_detection_forward,
    detection_benchmark,
    detection_forward_memory,
)
from .device import (
    DEVICE_PEAK_TFLOPS,
    build_device_steps,
    device_benchmark,
    device_peak_tflops,
    loader_clips_per_worker,
    model_flops_utilization,
    sdpa_backend,
    select_device,
    step_flops,
    timed_steps,
)
from .export import EXPORT_ARCHS, EXPORT_CONFIG, export_benchmark
from .inference import gemm_peaks, inference_benchmark, paper_peaks
from .model import (
    ATTENTION_VARIANTS,
    BENCHMARK_ARCHS,
    FORWARD_GFLOP_B16_8X224,
    model_benchmark,
    resolve_arch,
    train_step_memory,
)
from .pretrain import (
    GEMM_OPS,
    PRETRAIN_VARIANTS,
    build_pretrain_step,
    naive_clip_attention_forward,
    naive_pretraining,
    pretrain_benchmark,
    pretrain_step_memory,
    step_gemm_gflop,
)
from .process import child_json, peak_rss_bytes, rss_bytes
from .resources import default_shared_videos, recipe_file
from .timing import median, time_interleaved, time_it

__all__ = [
    'ATTENTION_VARIANTS', 'BENCHMARK_ARCHS', 'DATA_RECIPES', 'DATA_STAGES', 'DATA_VARIANTS',
    'DETECTION_CONFIG', 'DEVICE_PEAK_TFLOPS', 'EXPORT_ARCHS', 'EXPORT_CONFIG',
    'FORWARD_GFLOP_B16_8X224', 'GEMM_OPS', 'PRETRAIN_VARIANTS', 'SET_VARIANTS', 'StagedPipeline',
    'build_detection_forward', 'build_device_steps', 'build_pretrain_step', 'child_json',
    'cpu_description', 'data_benchmark', 'data_rows', 'data_sample', 'data_stage',
    'default_shared_videos', 'detection_benchmark', 'detection_forward_memory', 'device_benchmark',
    'device_peak_tflops', 'export_benchmark', 'gemm_peaks', 'inference_benchmark',
    'loader_clips_per_worker', 'paper_peaks', 'matmul_peak_gflops',
    'median', 'model_benchmark', 'model_flops_utilization', 'naive_attention',
    'naive_attention_forward', 'naive_clip_attention_forward', 'naive_pretraining',
    'peak_rss_bytes', 'prepare_data_sets', 'pretrain_benchmark', 'pretrain_step_memory',
    'recipe_file', 'recipe_pipeline', 'resolve_arch', 'rss_bytes', 'sdpa_backend', 'select_device',
    'step_flops', 'step_gemm_gflop', 'time_interleaved', 'time_it', 'timed_steps',
    'train_step_memory', 'variant_pipeline'
]
