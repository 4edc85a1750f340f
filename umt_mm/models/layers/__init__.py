"""Building blocks of the UMT ViT."""
from .attention import UMTAttention
from .pos_embed import sincos_table_1d, umt_position_table
from .transformer_block import DropPath, UMTBlock, UMTMlp

__all__ = ['UMTAttention', 'UMTBlock', 'UMTMlp', 'DropPath', 'sincos_table_1d',
           'umt_position_table']
