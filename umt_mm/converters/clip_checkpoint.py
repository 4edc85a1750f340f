"""Read CLIP visual encoder weights from every format users have, in the teacher's layout.

The UMT teacher (:class:`umt_mm.models.CLIPVisionTeacher`) keeps the parameter names of
the reference's extracted visual encoder (``models/clip.py``): ``class_embedding``,
``positional_embedding``, ``proj``, ``conv1.weight`` (5-D ``[W, 3, 1, p, p]``), ``ln_pre``,
``transformer.resblocks.{i}.{attn.in_proj_weight, attn.in_proj_bias, attn.out_proj,
ln_1, mlp.c_fc, mlp.c_proj, ln_2}`` and ``ln_post``. Supported sources, all detected
from the file:

* ``openai-torchscript``: OpenAI's released TorchScript archives (``ViT-B-16.pt``,
  ``ViT-L-14.pt``). Their weights are read by a restricted unpickler that rebuilds only
  tensors and inert placeholders for the scripted modules; the archive's code is never
  executed (no ``torch.jit.load``).
* ``openai-state-dict``: a CLIP state dict with ``visual.*`` keys (text keys are ignored).
* ``clip-visual``: the reference's extracted visual dict or umt_mm's own layout (no
  prefix, 2-D or 5-D ``conv1``), bare or under ``state_dict`` / ``model`` / ``module``.
* ``umt_mm-distiller``: the ``teacher.*`` part of a umt_mm distiller state dict.
* ``huggingface-safetensors`` / ``huggingface-bin``: Hugging Face ``CLIPModel`` /
  ``CLIPVisionModelWithProjection`` (/ ``CLIPVisionModel``) weights, ``model.safetensors``
  or ``pytorch_model.bin`` (the file or its folder), with ``config.json`` beside it.

Everything is returned in fp32 with a 5-D ``conv1``; the positional embedding keeps the
checkpoint's grid (:func:`resize_clip_positional_embedding` resizes it as the reference).
"""
from __future__ import annotations

import io
import json
import math
import pickle
import re
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import torch
import torch.nn.functional as F

SUPPORTED_FORMATS = (
    'openai-torchscript (OpenAI ViT-B-16.pt / ViT-L-14.pt archives)',
    'openai-state-dict (visual.* keys)',
    'clip-visual (the reference\'s extracted visual dict or umt_mm\'s layout, no prefix)',
    'umt_mm-distiller (teacher.* keys)',
    'huggingface-safetensors / huggingface-bin (CLIPModel, CLIPVisionModelWithProjection: '
    'model.safetensors or pytorch_model.bin, with config.json)',
)

HF_WEIGHT_FILES = ('model.safetensors', 'pytorch_model.bin')
_HF_INDEX_FILES = ('model.safetensors.index.json', 'pytorch_model.bin.index.json')
_WRAPPER_KEYS = ('state_dict', 'model', 'module')
# key prefixes in front of the visual encoder's names, and the format each one means
_PREFIX_FORMATS = OrderedDict([
    ('', 'clip-visual'),
    ('visual.', 'openai-state-dict'),
    ('module.visual.', 'openai-state-dict'),
    ('teacher.', 'umt_mm-distiller'),
    ('module.teacher.', 'umt_mm-distiller'),
])


def _supported() -> str:
    return 'supported formats: ' + '; '.join(SUPPORTED_FORMATS)


def _describe(keys: list[str], num_tensors: int | None = None) -> str:
    count = len(keys) if num_tensors is None else num_tensors
    head = ', '.join(repr(k) for k in keys[:8])
    more = ', ...' if len(keys) > 8 else ''
    return f'{count} entries, first keys: {head}{more}'


# ---------------------------------------------------------------------------------------
# TorchScript archives, read without executing them
# ---------------------------------------------------------------------------------------
class _ScriptObject:
    """Inert stand-in for a ``__torch__.*`` class of a TorchScript archive.

    It only records the state the archive stores for it (a module's attributes:
    parameters, buffers, submodules, flags); nothing of the archive's code runs.
    """

    _qualified_name = '__torch__.?'

    def __setstate__(self, state) -> None:
        self.__dict__['_state'] = state

    @property
    def state(self):
        return self.__dict__.get('_state')


_STORAGE_DTYPES = {
    'FloatStorage': torch.float32, 'HalfStorage': torch.float16,
    'BFloat16Storage': torch.bfloat16, 'DoubleStorage': torch.float64,
    'LongStorage': torch.int64, 'IntStorage': torch.int32, 'ShortStorage': torch.int16,
    'CharStorage': torch.int8, 'ByteStorage': torch.uint8, 'BoolStorage': torch.bool,
}


class _StorageType:
    """What ``torch.<X>Storage`` stands for in the restricted unpickler: just a dtype."""

    def __init__(self, dtype: torch.dtype) -> None:
        self.dtype = dtype


def _identity(value, *args):
    return value


def _rebuild_tensor(storage, storage_offset, size, stride, requires_grad=False,
                    backward_hooks=None, metadata=None):
    if not isinstance(storage, torch.Tensor):
        raise pickle.UnpicklingError('a tensor without a storage')
    return storage.as_strided(tuple(size), tuple(stride), int(storage_offset)).clone()


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, *args):
    return data


class _TorchScriptUnpickler(pickle.Unpickler):
    """Unpickler of a TorchScript ``data.pkl`` that can build tensors and nothing else."""

    _ALLOWED = {
        ('torch._utils', '_rebuild_tensor_v2'): _rebuild_tensor,
        ('torch._utils', '_rebuild_parameter'): _rebuild_parameter,
        ('collections', 'OrderedDict'): OrderedDict,
        ('torch.jit._pickle', 'build_intlist'): _identity,
        ('torch.jit._pickle', 'build_doublelist'): _identity,
        ('torch.jit._pickle', 'build_boollist'): _identity,
        ('torch.jit._pickle', 'build_tensorlist'): _identity,
        ('torch.jit._pickle', 'restore_type_tag'): _identity,
    }

    def __init__(self, data: bytes, archive: zipfile.ZipFile, prefix: str, name: str) -> None:
        super().__init__(io.BytesIO(data))
        self._archive = archive
        self._prefix = prefix
        self._name = name
        self._storages: dict[str, torch.Tensor] = {}
        self._classes: dict[str, type] = {}

    def find_class(self, module: str, name: str):
        if module == '__torch__' or module.startswith('__torch__.'):
            qualified = f'{module}.{name}'
            if qualified not in self._classes:
                self._classes[qualified] = type(
                    name, (_ScriptObject,), {'_qualified_name': qualified})
            return self._classes[qualified]
        if module == 'torch' and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        if (module, name) in self._ALLOWED:
            return self._ALLOWED[(module, name)]
        raise pickle.UnpicklingError(
            f'{self._name}: the TorchScript archive refers to {module}.{name}, which is not '
            'a tensor or a scripted module; refusing to load it')

    def persistent_load(self, pid):
        if (not isinstance(pid, tuple) or len(pid) < 3 or pid[0] != 'storage'
                or not isinstance(pid[1], _StorageType)):
            raise pickle.UnpicklingError(f'{self._name}: unexpected persistent id {pid!r}')
        dtype, key = pid[1].dtype, str(pid[2])
        if key not in self._storages:
            record = f'{self._prefix}data/{key}'
            try:
                raw = self._archive.read(record)
            except KeyError as err:
                raise pickle.UnpicklingError(
                    f'{self._name}: storage {record!r} is missing from the archive') from err
            self._storages[key] = torch.frombuffer(bytearray(raw), dtype=dtype) if raw else \
                torch.empty(0, dtype=dtype)
        return self._storages[key]


def _torchscript_prefix(archive: zipfile.ZipFile) -> str | None:
    """The archive folder (``'ViT-B-16/'``) when the zip is a TorchScript archive.

    A TorchScript archive has ``<folder>/data.pkl`` beside ``<folder>/constants.pkl`` and
    its code under ``<folder>/code/``; a ``torch.save`` zip has neither of the latter.
    """
    names = archive.namelist()
    for name in names:
        parts = name.split('/')
        if len(parts) >= 2 and (parts[1] == 'constants.pkl' or parts[1] == 'code'):
            prefix = parts[0] + '/'
            if prefix + 'data.pkl' in names:
                return prefix
    return None


def _collect_tensors(obj, prefix: str, out: OrderedDict, seen: set) -> None:
    """Walk a tree of placeholders and record every tensor under its dotted path."""
    if isinstance(obj, torch.Tensor):
        out[prefix[:-1]] = obj
        return
    if isinstance(obj, _ScriptObject):
        if id(obj) in seen:
            return
        seen.add(id(obj))
        state = obj.state
        if isinstance(state, Mapping):
            for key, value in state.items():
                _collect_tensors(value, f'{prefix}{key}.', out, seen)


def read_torchscript_tensors(path: str | Path) -> OrderedDict:
    """All parameters and buffers of a TorchScript archive, without running its code.

    ``data.pkl`` is unpickled with a restricted unpickler: tensors are rebuilt from the
    archive's ``data/<key>`` storages, every ``__torch__.*`` class becomes an inert
    placeholder that records its attributes, and any other global is refused. The module
    tree is then walked to recover the state-dict names (``visual.conv1.weight``, ...).

    Args:
        path (str | Path): A TorchScript ``.pt`` archive (``torch.jit.save``).

    Returns:
        OrderedDict: Dotted name -> tensor, as ``module.state_dict()`` would name them.

    Raises:
        ValueError: If the file is not a TorchScript archive or refers to anything besides
            tensors and scripted modules.
    """
    name = str(path)
    with zipfile.ZipFile(path) as archive:
        prefix = _torchscript_prefix(archive)
        if prefix is None:
            raise ValueError(f'{name}: not a TorchScript archive '
                             '(no <folder>/constants.pkl or <folder>/code/)')
        order = archive.read(prefix + 'byteorder').decode().strip() \
            if prefix + 'byteorder' in archive.namelist() else 'little'
        if order != 'little':
            raise ValueError(f'{name}: {order}-endian tensor data is not supported')
        unpickler = _TorchScriptUnpickler(archive.read(prefix + 'data.pkl'), archive, prefix,
                                          name)
        try:
            root = unpickler.load()
        except pickle.UnpicklingError as err:
            raise ValueError(str(err)) from err
    out: OrderedDict = OrderedDict()
    _collect_tensors(root, '', out, set())
    return out


# ---------------------------------------------------------------------------------------
# Hugging Face
# ---------------------------------------------------------------------------------------
_HF_LAYER = re.compile(r'^vision_model\.encoder\.layers\.(\d+)\.(.+)$')
_HF_LAYER_NAMES = {
    'self_attn.out_proj.weight': 'attn.out_proj.weight',
    'self_attn.out_proj.bias': 'attn.out_proj.bias',
    'layer_norm1.weight': 'ln_1.weight', 'layer_norm1.bias': 'ln_1.bias',
    'layer_norm2.weight': 'ln_2.weight', 'layer_norm2.bias': 'ln_2.bias',
    'mlp.fc1.weight': 'mlp.c_fc.weight', 'mlp.fc1.bias': 'mlp.c_fc.bias',
    'mlp.fc2.weight': 'mlp.c_proj.weight', 'mlp.fc2.bias': 'mlp.c_proj.bias',
}
_HF_TOP_NAMES = {
    'vision_model.embeddings.class_embedding': 'class_embedding',
    'vision_model.embeddings.patch_embedding.weight': 'conv1.weight',
    'vision_model.embeddings.position_embedding.weight': 'positional_embedding',
    'vision_model.pre_layrnorm.weight': 'ln_pre.weight',
    'vision_model.pre_layrnorm.bias': 'ln_pre.bias',
    'vision_model.post_layernorm.weight': 'ln_post.weight',
    'vision_model.post_layernorm.bias': 'ln_post.bias',
}
# parts of a CLIPModel that the visual teacher does not use
_HF_IGNORED = ('text_model.', 'text_projection.', 'logit_scale',
               'vision_model.embeddings.position_ids')


def read_hf_clip_config(path: str | Path) -> dict | None:
    """The vision settings of a Hugging Face CLIP ``config.json`` (plain JSON, no transformers).

    Args:
        path (str | Path): The ``config.json``, the weight file beside it or their folder.

    Returns:
        dict | None: ``heads``, ``layer_norm_eps``, ``hidden_act``, ``patch_size``,
        ``width``, ``layers`` (Hugging Face's defaults where a key is absent), or None when
        there is no ``config.json``.
    """
    path = Path(path)
    cfg_file = path if path.name == 'config.json' else (
        path / 'config.json' if path.is_dir() else path.parent / 'config.json')
    if not cfg_file.is_file():
        return None
    try:
        cfg = json.loads(cfg_file.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f'{cfg_file}: not a readable JSON config ({err})') from err
    vision = cfg.get('vision_config') or cfg.get('vision_config_dict') or cfg
    # CLIPVisionConfig defaults (a saved config may omit keys equal to them)
    return dict(heads=int(vision.get('num_attention_heads', 12)),
                layer_norm_eps=float(vision.get('layer_norm_eps', 1e-5)),
                hidden_act=str(vision.get('hidden_act', 'quick_gelu')),
                patch_size=int(vision.get('patch_size', 32)),
                width=int(vision.get('hidden_size', 768)),
                layers=int(vision.get('num_hidden_layers', 12)),
                file=str(cfg_file))


def convert_hf_clip_vision(state_dict: Mapping[str, torch.Tensor],
                           name: str = '<state dict>') -> OrderedDict:
    """Hugging Face CLIP vision weights -> the teacher's layout.

    ``q/k/v_proj`` are concatenated into ``in_proj``; ``pre_layrnorm`` (sic) becomes
    ``ln_pre``, ``post_layernorm`` ``ln_post`` (the teacher applies it to every token,
    Hugging Face only to the pooled CLS: the weights are the same), and the transposed
    ``visual_projection.weight`` becomes ``proj``. Text weights are ignored.

    Args:
        state_dict (Mapping): ``vision_model.*`` (+ ``visual_projection.weight``) keys.
        name (str): The source, for error messages. Defaults to '<state dict>'.

    Returns:
        OrderedDict: Teacher keys (2-D ``conv1`` as stored; see
        :func:`load_clip_visual_state_dict` for the inflation).
    """
    out: OrderedDict = OrderedDict()
    qkv: dict[int, dict[str, torch.Tensor]] = {}
    unknown = []
    for key, value in state_dict.items():
        if key.startswith(_HF_IGNORED):
            continue
        if key in _HF_TOP_NAMES:
            out[_HF_TOP_NAMES[key]] = value
        elif key == 'visual_projection.weight':
            out['proj'] = value.t().contiguous()
        elif (match := _HF_LAYER.match(key)) is not None:
            index, rest = int(match.group(1)), match.group(2)
            qkv_match = re.fullmatch(r'self_attn\.([qkv])_proj\.(weight|bias)', rest)
            if qkv_match is not None:
                qkv.setdefault(index, {})[f'{qkv_match.group(1)}.{qkv_match.group(2)}'] = value
            elif rest in _HF_LAYER_NAMES:
                out[f'transformer.resblocks.{index}.{_HF_LAYER_NAMES[rest]}'] = value
            else:
                unknown.append(key)
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(f'{name}: Hugging Face CLIP keys with no place in the teacher: '
                         + ', '.join(unknown[:10]) + (' ...' if len(unknown) > 10 else ''))
    for index, parts in sorted(qkv.items()):
        for kind in ('weight', 'bias'):
            missing = [p for p in 'qkv' if f'{p}.{kind}' not in parts]
            if missing:
                raise ValueError(f'{name}: layer {index} lacks self_attn.'
                                 f'{missing[0]}_proj.{kind}')
            out[f'transformer.resblocks.{index}.attn.in_proj_{kind}'] = torch.cat(
                [parts[f'{p}.{kind}'] for p in 'qkv'])
    if 'proj' not in out:
        raise ValueError(
            f'{name}: no visual_projection.weight. A CLIPVisionModel saved on its own has no '
            'projection, but the UMT teacher distils projected features: use the weights of '
            'the CLIPModel or CLIPVisionModelWithProjection of the same model')
    return out


def _hf_weight_file(path: Path) -> Path:
    for file_name in HF_WEIGHT_FILES + _HF_INDEX_FILES:
        if (path / file_name).is_file():
            return path / file_name
    raise FileNotFoundError(f'{path}: a folder without {" or ".join(HF_WEIGHT_FILES)}; '
                            + _supported())


def _is_safetensors(path: Path) -> bool:
    with open(path, 'rb') as file:
        head = file.read(9)
    if len(head) < 9:
        return False
    header_size = int.from_bytes(head[:8], 'little')
    return head[8:9] == b'{' and 0 < header_size <= path.stat().st_size - 8


def _read_safetensors(path: Path) -> OrderedDict:
    from safetensors.torch import load_file
    return OrderedDict(load_file(str(path), device='cpu'))


def _read_index(path: Path, trusted: bool) -> OrderedDict:
    """A sharded Hugging Face checkpoint (``*.index.json`` with a ``weight_map``)."""
    try:
        weight_map = json.loads(path.read_text())['weight_map']
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(f'{path}: not a Hugging Face shard index ({err})') from err
    out: OrderedDict = OrderedDict()
    for shard in sorted(set(weight_map.values())):
        shard_path = path.parent / shard
        if not shard_path.is_file():
            raise FileNotFoundError(f'{path}: shard {shard} not found beside it')
        out.update(_read_safetensors(shard_path) if _is_safetensors(shard_path)
                   else _torch_load(shard_path, trusted))
    return out


# ---------------------------------------------------------------------------------------
# torch files
# ---------------------------------------------------------------------------------------
def _unsafe_globals(path: Path) -> list[str]:
    """Pickled globals beyond tensors in a zip-format torch file (empty if none / unknown)."""
    if not zipfile.is_zipfile(path):
        return []
    try:
        return sorted(torch.serialization.get_unsafe_globals_in_checkpoint(str(path)))
    except Exception:  # not a torch zip archive
        return []


def _torch_load(path: Path, trusted: bool):
    """``torch.load`` weights-only; a file with other pickled objects only when trusted."""
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # torch raises many types for foreign files
        lines = str(err).strip().splitlines()
        reason = lines[-1] if lines else type(err).__name__
        unsafe = _unsafe_globals(path)
        if trusted:
            try:
                return torch.load(path, map_location='cpu', weights_only=False)
            except Exception as full_err:
                raise ValueError(f'{path}: not a readable torch checkpoint ({full_err}); '
                                 + _supported()) from full_err
        if unsafe:
            raise ValueError(
                f'{path}: the file contains pickled objects besides tensors '
                f'({", ".join(unsafe[:5])}), which a safe load refuses. If you trust the '
                'file, load it with trusted=True (tools/convert_clip_checkpoint.py '
                '--trusted).') from err
        raise ValueError(
            f'{path}: not a readable torch checkpoint ({type(err).__name__}: {reason[:200]}). '
            'A torch file of the legacy (non-zip) format with pickled objects needs '
            'trusted=True; ' + _supported()) from err


def _unwrap(obj):
    """Descend ``state_dict`` / ``model`` / ``module`` wrappers to the tensor mapping."""
    for _ in range(3):
        if not isinstance(obj, Mapping):
            break
        for key in _WRAPPER_KEYS:
            if key in obj and isinstance(obj[key], Mapping):
                obj = obj[key]
                break
        else:
            break
    return obj


def _tensor_items(obj, name: str) -> OrderedDict:
    if not isinstance(obj, Mapping):
        raise ValueError(f'{name}: holds a {type(obj).__name__}, not a state dict; '
                         + _supported())
    return OrderedDict((k, v) for k, v in obj.items()
                       if isinstance(k, str) and isinstance(v, torch.Tensor))


# ---------------------------------------------------------------------------------------
# detection
# ---------------------------------------------------------------------------------------
def _is_hf(keys) -> bool:
    return 'vision_model.embeddings.patch_embedding.weight' in keys


def _clip_prefix(keys) -> str | None:
    """The prefix in front of the visual encoder's names, when it is a known one."""
    found = [prefix for prefix in _PREFIX_FORMATS
             if f'{prefix}conv1.weight' in keys and f'{prefix}class_embedding' in keys]
    return found[0] if found else None


def _finish(state: Mapping[str, torch.Tensor]) -> OrderedDict:
    """fp32, 5-D ``conv1``."""
    out: OrderedDict = OrderedDict()
    for key, value in state.items():
        if value.is_floating_point() and value.dtype != torch.float32:
            value = value.float()
        if key == 'conv1.weight' and value.dim() == 4:
            value = value.unsqueeze(2)
        out[key] = value.contiguous()
    return out


def _from_mapping(tensors: OrderedDict, name: str, hf_suffix: str) -> tuple[OrderedDict, str]:
    keys = set(tensors)
    if _is_hf(keys):
        return convert_hf_clip_vision(tensors, name), f'huggingface-{hf_suffix}'
    prefix = _clip_prefix(keys)
    if prefix is None:
        raise ValueError(f'{name}: unknown checkpoint layout ({_describe(list(tensors))}); '
                         'no CLIP visual encoder found (conv1.weight and class_embedding, bare '
                         "or under 'visual.' / 'teacher.', or Hugging Face vision_model.*). "
                         + _supported())
    state = OrderedDict((k[len(prefix):], v) for k, v in tensors.items() if k.startswith(prefix))
    if prefix == '':
        # a bare visual dict: anything of a CLIP text tower alongside does not belong here
        state = OrderedDict((k, v) for k, v in state.items()
                            if not k.startswith(('visual.', 'teacher.')))
    return state, _PREFIX_FORMATS[prefix]


def load_clip_visual_state_dict(path: str | Path,
                                trusted: bool = False) -> tuple[OrderedDict, str]:
    """Load CLIP visual weights from any supported file, in the teacher's layout.

    Args:
        path (str | Path): A TorchScript archive, a torch checkpoint, a safetensors file,
            a Hugging Face folder (``model.safetensors`` / ``pytorch_model.bin``), or a
            shard index.
        trusted (bool): Allow arbitrary pickled objects in torch files (only for files you
            trust). TorchScript archives never need it. Defaults to False.

    Returns:
        tuple[OrderedDict, str]: The state dict (fp32, 5-D ``conv1``, the checkpoint's
        positional grid) and the detected format name.

    Raises:
        FileNotFoundError: If the path does not exist.
        ValueError: For an unknown layout (naming what was found and what is supported),
            or a file that needs unsafe unpickling without ``trusted``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f'CLIP checkpoint not found: {path}')
    if path.is_dir():
        path = _hf_weight_file(path)
    name = str(path)
    if path.name.endswith('.index.json'):
        tensors = _read_index(path, trusted)
        suffix = 'safetensors' if path.name.startswith('model.safetensors') else 'bin'
        state, fmt = _from_mapping(tensors, name, suffix)
    elif _is_safetensors(path):
        state, fmt = _from_mapping(_read_safetensors(path), name, 'safetensors')
    elif zipfile.is_zipfile(path) and _is_torchscript(path):
        tensors = read_torchscript_tensors(path)
        state, fmt = _from_mapping(tensors, name, 'bin')
        if fmt in ('openai-state-dict', 'clip-visual'):
            fmt = 'openai-torchscript'
    else:
        tensors = _tensor_items(_unwrap(_torch_load(path, trusted)), name)
        state, fmt = _from_mapping(tensors, name, 'bin')
    state = _finish(state)
    if fmt.startswith('huggingface'):
        _check_hf_config(path, state, name)
    return state, fmt


def _is_torchscript(path: Path) -> bool:
    with zipfile.ZipFile(path) as archive:
        return _torchscript_prefix(archive) is not None


def _check_hf_config(path: Path, state: Mapping[str, torch.Tensor], name: str) -> None:
    cfg = read_hf_clip_config(path)
    if cfg is None:
        return
    arch = infer_clip_arch(state)
    problems = []
    if cfg['hidden_act'] != 'quick_gelu':
        problems.append(f"hidden_act {cfg['hidden_act']!r} (the teacher is QuickGELU)")
    if not math.isclose(cfg['layer_norm_eps'], 1e-5, rel_tol=1e-3):
        problems.append(f"layer_norm_eps {cfg['layer_norm_eps']} (the teacher uses 1e-5)")
    if cfg['patch_size'] != arch['patch_size'] or cfg['width'] != arch['width']:
        problems.append(f"patch {cfg['patch_size']} / width {cfg['width']} in the config, "
                        f"but the weights have patch {arch['patch_size']} / width "
                        f"{arch['width']}")
    if problems:
        raise ValueError(f"{name}: {cfg['file']} describes a CLIP the UMT teacher cannot "
                         'reproduce: ' + '; '.join(problems))


# ---------------------------------------------------------------------------------------
# architecture and positional embedding
# ---------------------------------------------------------------------------------------
def infer_clip_arch(state_dict: Mapping[str, torch.Tensor]) -> dict:
    """The architecture a teacher-layout state dict describes.

    Args:
        state_dict (Mapping): Teacher keys (as returned by
            :func:`load_clip_visual_state_dict`).

    Returns:
        dict: ``patch_size``, ``width``, ``layers``, ``heads`` (``width // 64``: not
        stored in OpenAI files), ``output_dim`` and ``grid`` (side of the positional grid).

    Raises:
        ValueError: If a key the architecture is read from is missing.
    """
    required = ('conv1.weight', 'positional_embedding', 'proj')
    missing = [k for k in required if k not in state_dict]
    if missing:
        raise ValueError(f'not a CLIP visual state dict: missing {missing}')
    conv = state_dict['conv1.weight']
    layers = {int(m.group(1)) for k in state_dict
              if (m := re.match(r'transformer\.resblocks\.(\d+)\.', k))}
    num_pos = state_dict['positional_embedding'].shape[0] - 1
    grid = math.isqrt(num_pos)
    if grid * grid != num_pos:
        raise ValueError(f'positional_embedding has {num_pos + 1} rows: not a square grid + CLS')
    width = int(conv.shape[0])
    return dict(patch_size=int(conv.shape[-1]), width=width,
                layers=max(layers) + 1 if layers else 0, heads=max(width // 64, 1),
                output_dim=int(state_dict['proj'].shape[1]), grid=grid)


def resize_clip_positional_embedding(pos: torch.Tensor, grid: int) -> torch.Tensor:
    """Resize a CLIP positional table ``(1 + g*g, W)`` to ``(1 + grid*grid, W)``.

    As the reference's ``clip.load_state_dict``: the CLS row is kept, the patch rows are
    interpolated bicubically (``align_corners=False``) on the square grid.

    Args:
        pos (torch.Tensor): The table of the checkpoint.
        grid (int): The new grid side (``input_resolution // patch``).

    Returns:
        torch.Tensor: The resized table (the input itself when the grid already matches).
    """
    old = math.isqrt(pos.shape[0] - 1)
    if old * old != pos.shape[0] - 1:
        raise ValueError(f'positional_embedding has {pos.shape[0]} rows: not a square grid + CLS')
    if old == grid:
        return pos
    width = pos.shape[-1]
    patches = pos[1:].reshape(1, old, old, width).permute(0, 3, 1, 2)
    patches = F.interpolate(patches.float(), size=(grid, grid), mode='bicubic',
                            align_corners=False)
    patches = patches.permute(0, 2, 3, 1).flatten(0, 2).to(pos.dtype)
    return torch.cat((pos[:1], patches), dim=0)
