"""What a user's own code calls: the library behind every umt_mm tool.

Built on ``mmaction.apis`` (and ``mmdet.apis`` for person boxes). Every function returns
data and prints nothing; the tools in ``tools/`` print and draw. Checkpoints load
strictly by default (see :func:`init_recognizer`). Examples of each: ``docs/apis.md``.
"""
from .detection import (
    KeyFrameClips,
    KeyFrameDetections,
    SpatioTemporalResult,
    detect_actions,
    detect_persons,
    load_proposals,
    person_boxes,
)
from .export import ExportResult, VerifyReport, export_model, verify_export
from .features import (
    FeatureExtractor,
    FeatureOptions,
    FeatureResult,
    extract_features,
    init_feature_extractor,
)
from .model_loading import (
    checkpoint_fingerprint,
    default_device,
    init_ava_detector,
    init_recognizer,
    load_checkpoint_strictly,
    load_config,
)
from .model_zoo import ModelInfo, get_model_info, list_models, resolve_config
from .recognition import RecognitionResult, inference_pipeline, inference_recognizer
from .video_reading import FALLBACK_FPS, VideoInfo, open_video
from .video_windows import Window, WindowedPipeline, WindowPrediction, plan_windows, recognize_video

__all__ = [
    'FALLBACK_FPS', 'ModelInfo', 'VideoInfo', 'open_video', 'checkpoint_fingerprint',
    'default_device', 'get_model_info',
    'init_ava_detector', 'init_recognizer', 'list_models', 'load_checkpoint_strictly',
    'load_config', 'resolve_config',
    'KeyFrameClips', 'KeyFrameDetections', 'SpatioTemporalResult', 'detect_actions',
    'detect_persons', 'load_proposals', 'person_boxes',
    'ExportResult', 'VerifyReport', 'export_model', 'verify_export',
    'RecognitionResult', 'inference_pipeline', 'inference_recognizer',
    'Window', 'WindowPrediction', 'WindowedPipeline', 'plan_windows', 'recognize_video',
    'FeatureExtractor', 'FeatureOptions', 'FeatureResult', 'extract_features',
    'init_feature_extractor',
]
