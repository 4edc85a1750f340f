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
from .precision import PrecisionChoice, prepare_inference
from .recognition import RecognitionResult, inference_pipeline, inference_recognizer
from .video_reading import FALLBACK_FPS, VideoInfo, open_video
from .video_windows import Window, WindowedPipeline, WindowPrediction, plan_windows, recognize_video

__all__ = [
    'checkpoint_fingerprint', 'default_device', 'detect_actions', 'detect_persons', 'export_model',
    'ExportResult', 'extract_features', 'FALLBACK_FPS', 'FeatureExtractor', 'FeatureOptions',
    'FeatureResult', 'get_model_info', 'inference_pipeline', 'inference_recognizer',
    'init_ava_detector', 'init_feature_extractor', 'init_recognizer', 'KeyFrameClips',
    'KeyFrameDetections', 'list_models', 'load_checkpoint_strictly', 'load_config',
    'load_proposals', 'ModelInfo', 'open_video', 'person_boxes', 'plan_windows', 'PrecisionChoice',
    'prepare_inference', 'RecognitionResult', 'recognize_video', 'resolve_config',
    'SpatioTemporalResult', 'verify_export', 'VerifyReport', 'VideoInfo', 'Window',
    'WindowedPipeline', 'WindowPrediction',
]
