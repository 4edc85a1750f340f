"""Checkpoint converters: official UMT, MMAction2 port, K710 head channel maps."""
from .k710_channel_map import build_channel_map, map_head, read_label_file
from .umt_official import (
                           ConversionReport,
                           check_against,
                           convert_mmaction_port,
                           convert_official_finetune,
                           convert_official_pretrain,
                           convert_umt_mm,
                           drop_head,
                           load_state_dict_any,
                           to_official_finetune,
)

__all__ = ['ConversionReport', 'check_against', 'convert_mmaction_port',
           'convert_official_finetune', 'convert_official_pretrain', 'convert_umt_mm', 'drop_head',
           'load_state_dict_any',
           'to_official_finetune', 'build_channel_map', 'map_head', 'read_label_file']
