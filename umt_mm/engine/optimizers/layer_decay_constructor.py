"""Layer-wise learning-rate decay driven by the model's ``get_layer_depth``."""
from __future__ import annotations

import torch.nn as nn
from mmaction.registry import OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class UMTLayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Parameter groups with ``lr * decay ** (num_layers - 1 - layer_id)``.

    The layer id of each parameter comes from the first submodule that implements
    ``get_layer_depth(param_name, prefix) -> (layer_id, num_layers)`` (for a
    ``Recognizer3D``: its ``backbone``; parameters outside it, e.g. the head, get the top
    layer and scale 1). For :class:`umt_mm.models.UMTVisionTransformer` with ``L`` blocks this is
    the reference's ``decay ** (L + 1 - layer_id)``: patch embedding 0, block ``i`` at
    ``i + 1``, the rest at ``L + 1``. Weight decay is 0 for 1-D parameters (norms, q/v
    biases), every ``.bias`` and names in ``no_decay_names``.

    ``paramwise_cfg`` keys:

    - ``layer_decay_rate`` (float): the decay. Required.
    - ``no_decay_names`` (list[str]): parameter-name components without weight decay.
      Defaults to ``['pos_embed']``.

    Example config::

        optim_wrapper = dict(
            optimizer=dict(type='AdamW', lr=4e-4, betas=(0.9, 0.999), weight_decay=0.05),
            constructor='UMTLayerDecayOptimWrapperConstructor',
            paramwise_cfg=dict(layer_decay_rate=0.75))
    """

    def add_params(self, params: list[dict], module: nn.Module, **kwargs) -> None:
        """Fill ``params`` with one group per (layer, weight decay on/off).

        Args:
            params (list[dict]): Parameter groups to extend.
            module (nn.Module): The model.
        """
        unknown = set(self.paramwise_cfg) - {'layer_decay_rate', 'no_decay_names'}
        if unknown:
            raise KeyError(f'UMTLayerDecayOptimWrapperConstructor: unknown paramwise_cfg keys '
                           f'{sorted(unknown)} (allowed: layer_decay_rate, no_decay_names)')
        if 'layer_decay_rate' not in self.paramwise_cfg:
            raise KeyError('UMTLayerDecayOptimWrapperConstructor needs '
                           'paramwise_cfg.layer_decay_rate')
        decay = float(self.paramwise_cfg['layer_decay_rate'])
        no_decay_names = set(self.paramwise_cfg.get('no_decay_names', ['pos_embed']))
        depth_module, prefix = None, ''
        for name, sub in module.named_modules():
            if callable(getattr(sub, 'get_layer_depth', None)):
                depth_module, prefix = sub, f'{name}.' if name else ''
                break
        if depth_module is None:
            raise TypeError(f'{type(module).__name__} has no submodule with get_layer_depth(); '
                            'layer-wise lr decay needs a backbone such as UMTVisionTransformer')
        groups: dict[tuple[int, bool], dict] = {}
        for name, param in module.named_parameters():
            if not param.requires_grad:
                continue
            layer_id, num_layers = depth_module.get_layer_depth(name, prefix)
            no_wd = (param.ndim == 1 or name.endswith('.bias')
                     or bool(no_decay_names & set(name.split('.'))))
            key = (layer_id, no_wd)
            if key not in groups:
                scale = decay ** (num_layers - 1 - layer_id)
                groups[key] = dict(params=[], param_names=[], lr=self.base_lr * scale,
                                   lr_scale=scale, layer_id=layer_id,
                                   weight_decay=0.0 if no_wd else self.base_wd)
            groups[key]['params'].append(param)
            groups[key]['param_names'].append(name)
        for key in sorted(groups):
            params.append(groups[key])
        print_log(f'layer decay {decay}: {len(groups)} parameter groups over '
                  f'{len({k[0] for k in groups})} layers', logger='current')
