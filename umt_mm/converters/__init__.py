"""Checkpoint converters: official UMT, MMAction2 port, CLIP teachers, K710 head channel maps."""
from .clip_checkpoint import (
    infer_clip_arch,
    load_clip_visual_state_dict,
    read_hf_clip_config,
    read_torchscript_tensors,
    resize_clip_positional_embedding,
)
from .k710_channel_map import build_channel_map, map_head, read_label_file
from .umt_official import (
                           ConversionReport,
                           check_against,
                           convert_mmaction_port,
                           convert_official_ava,
                           convert_official_finetune,
                           convert_official_pretrain,
                           convert_umt_mm,
                           drop_head,
                           load_state_dict_any,
                           to_official_finetune,
)

__all__ = ['ConversionReport', 'check_against', 'convert_mmaction_port', 'convert_official_ava',
           'convert_official_finetune', 'convert_official_pretrain', 'convert_umt_mm', 'drop_head',
           'load_state_dict_any',
           'to_official_finetune', 'build_channel_map', 'map_head', 'read_label_file',
           'infer_clip_arch', 'load_clip_visual_state_dict', 'read_hf_clip_config',
           'read_torchscript_tensors', 'resize_clip_positional_embedding']
