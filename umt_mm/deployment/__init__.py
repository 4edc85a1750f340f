"""Export of UMT recognizers and the AVA detector to ONNX and TorchScript.

``tools/deployment/export.py`` is the command line; onnx / onnxruntime come with the
``deploy`` install extra and are imported only when a graph is exported or run.
"""
from .ava_detector import ExportableAVADetector
from .deploy_info import deploy_info, recognition_protocol, write_deploy_info
from .exportability import ExportError, check_ava_detector, check_recognizer, model_kind
from .exporter import (
    build_model,
    default_shape,
    example_inputs,
    export,
    export_onnx,
    export_torchscript,
    largest_difference,
    make_wrapper,
    onnx_session,
    run_exported,
)
from .real_clip import real_clip_inputs
from .recognizer import ExportableRecognizer
from .roi_align import roi_align_legacy

__all__ = ['ExportableAVADetector', 'ExportableRecognizer', 'ExportError', 'build_model',
           'check_ava_detector', 'check_recognizer', 'default_shape', 'deploy_info',
           'example_inputs', 'export', 'export_onnx', 'export_torchscript',
           'largest_difference', 'make_wrapper', 'model_kind', 'onnx_session',
           'real_clip_inputs', 'recognition_protocol', 'roi_align_legacy', 'run_exported',
           'write_deploy_info']
