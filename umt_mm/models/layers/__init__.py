"""Building blocks of the UMT ViT."""
from .attention import ATTENTION_KERNELS, UMTAttention, matmul_attention
from .pos_embed import sincos_table_1d, umt_position_table
from .transformer_block import DropPath, UMTBlock, UMTMlp

__all__ = ['ATTENTION_KERNELS', 'DropPath', 'UMTAttention', 'UMTBlock', 'UMTMlp',
           'matmul_attention', 'sincos_table_1d', 'umt_position_table']
