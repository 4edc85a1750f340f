"""CLIP teacher checkpoints: every supported format gives the same teacher outputs."""
import copy
import importlib.util
import json
import pickle
import warnings
import zipfile
from collections import OrderedDict
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from safetensors.torch import save_file

from umt_mm.converters import (
    infer_clip_arch,
    load_clip_visual_state_dict,
    read_torchscript_tensors,
    resize_clip_positional_embedding,
)
from umt_mm.models.backbones import CLIPVisionTeacher

WIDTH, LAYERS, PATCH, OUT, SIZE, HEADS = 64, 2, 16, 32, 64, 2
ARCH = dict(patch_size=PATCH, width=WIDTH, layers=LAYERS, heads=HEADS, output_dim=OUT)


# ----------------------------------------------------------------------------------------
# a tiny CLIP in OpenAI's own module layout (nn.MultiheadAttention, 2-D conv1, text tower)
# ----------------------------------------------------------------------------------------
class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class OpenAIBlock(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict([('c_fc', nn.Linear(width, 4 * width)),
                                              ('gelu', QuickGELU()),
                                              ('c_proj', nn.Linear(4 * width, width))]))
        self.ln_2 = nn.LayerNorm(width)

    def forward(self, x):  # (L, N, D)
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class OpenAITransformer(nn.Module):
    def __init__(self, width, layers, heads):
        super().__init__()
        self.resblocks = nn.Sequential(*[OpenAIBlock(width, heads) for _ in range(layers)])


class OpenAIVisual(nn.Module):
    def __init__(self, width=WIDTH, layers=LAYERS, heads=HEADS, patch=PATCH, out=OUT, size=SIZE):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, patch, patch, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(width) * 0.1)
        self.positional_embedding = nn.Parameter(torch.randn((size // patch) ** 2 + 1, width) * .1)
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = OpenAITransformer(width, layers, heads)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.randn(width, out) * width ** -0.5)

    def forward(self, x):  # OpenAI's image embedding
        x = self.conv1(x).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        x = self.ln_pre(torch.cat((cls, x), 1) + self.positional_embedding)
        x = self.transformer.resblocks(x.transpose(0, 1)).transpose(0, 1)
        return self.ln_post(x[:, 0]) @ self.proj


class OpenAICLIP(nn.Module):
    def __init__(self, **kwargs):
        super().__init__()
        self.visual = OpenAIVisual(**kwargs)
        self.token_embedding = nn.Embedding(10, 16)
        self.text_projection = nn.Parameter(torch.randn(16, OUT))
        self.logit_scale = nn.Parameter(torch.ones([]))

    def forward(self, image):
        return self.visual(image)


def _randomise(model: nn.Module) -> nn.Module:
    torch.manual_seed(0)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if 'ln' in name:
                param.copy_((1.0 if name.endswith('weight') else 0.0)
                            + 0.1 * torch.randn_like(param))
            elif name.endswith('bias'):
                param.copy_(0.05 * torch.randn_like(param))
    return model.eval()


def to_hf(openai_state: dict) -> OrderedDict:
    """OpenAI CLIP names -> Hugging Face CLIPModel names (what transformers writes)."""
    out = OrderedDict()
    v = 'vision_model.'
    for key, value in openai_state.items():
        if not key.startswith('visual.'):
            continue
        name = key[len('visual.'):]
        if name == 'class_embedding':
            out[v + 'embeddings.class_embedding'] = value
        elif name == 'conv1.weight':
            out[v + 'embeddings.patch_embedding.weight'] = value
        elif name == 'positional_embedding':
            out[v + 'embeddings.position_embedding.weight'] = value
        elif name.startswith('ln_pre.'):
            out[v + 'pre_layrnorm.' + name.split('.')[-1]] = value
        elif name.startswith('ln_post.'):
            out[v + 'post_layernorm.' + name.split('.')[-1]] = value
        elif name == 'proj':
            out['visual_projection.weight'] = value.t().contiguous()
        else:
            _, _, index, rest = name.split('.', 3)
            layer = f'{v}encoder.layers.{index}.'
            if rest.startswith('attn.in_proj_'):
                kind = rest.split('_')[-1]
                for part, chunk in zip('qkv', value.chunk(3)):
                    out[f'{layer}self_attn.{part}_proj.{kind}'] = chunk.contiguous()
            else:
                rest = (rest.replace('attn.out_proj', 'self_attn.out_proj')
                        .replace('ln_1', 'layer_norm1').replace('ln_2', 'layer_norm2')
                        .replace('mlp.c_fc', 'mlp.fc1').replace('mlp.c_proj', 'mlp.fc2'))
                out[layer + rest] = value
    num_pos = openai_state['visual.positional_embedding'].shape[0]
    out[v + 'embeddings.position_ids'] = torch.arange(num_pos)[None]
    out['text_model.embeddings.token_embedding.weight'] = openai_state['token_embedding.weight']
    out['text_projection.weight'] = openai_state['text_projection'].t().contiguous()
    out['logit_scale'] = openai_state['logit_scale']
    return out


def hf_config(heads=HEADS, act='quick_gelu', eps=1e-5) -> dict:
    return dict(architectures=['CLIPModel'], model_type='clip', projection_dim=OUT,
                vision_config=dict(hidden_size=WIDTH, num_hidden_layers=LAYERS,
                                   num_attention_heads=heads, patch_size=PATCH, image_size=SIZE,
                                   hidden_act=act, layer_norm_eps=eps,
                                   model_type='clip_vision_model'))


@pytest.fixture(scope='module')
def clip_files(tmp_path_factory):
    """The same random CLIP weights written in every supported format."""
    root = tmp_path_factory.mktemp('clip')
    model = _randomise(OpenAICLIP())
    state = model.state_dict()
    files = {}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        traced = torch.jit.trace(model, torch.randn(1, 3, SIZE, SIZE))
        traced_fp16 = copy.deepcopy(traced).half()  # as OpenAI released them
    files['torchscript'] = root / 'ViT-tiny.pt'
    torch.jit.save(traced, str(files['torchscript']))
    files['torchscript_fp16'] = root / 'ViT-tiny-fp16.pt'
    torch.jit.save(traced_fp16, str(files['torchscript_fp16']))
    files['openai'] = root / 'openai_state.pth'
    torch.save(state, files['openai'])
    files['extracted'] = root / 'vit_tiny.pth'
    torch.save({k[len('visual.'):]: v for k, v in state.items() if k.startswith('visual.')},
               files['extracted'])
    hf = to_hf(state)
    (root / 'hf_st').mkdir()
    save_file(dict(hf), str(root / 'hf_st' / 'model.safetensors'))
    (root / 'hf_st' / 'config.json').write_text(json.dumps(hf_config()))
    files['hf_safetensors_dir'] = root / 'hf_st'
    files['hf_safetensors_file'] = root / 'hf_st' / 'model.safetensors'
    (root / 'hf_bin').mkdir()
    torch.save(hf, root / 'hf_bin' / 'pytorch_model.bin')
    (root / 'hf_bin' / 'config.json').write_text(json.dumps(hf_config()))
    files['hf_bin_dir'] = root / 'hf_bin'
    (root / 'hf_sharded').mkdir()
    names = list(hf)
    shards = {'model-00001-of-00002.safetensors': names[:len(names) // 2],
              'model-00002-of-00002.safetensors': names[len(names) // 2:]}
    for shard, keys in shards.items():
        save_file({k: hf[k] for k in keys}, str(root / 'hf_sharded' / shard))
    (root / 'hf_sharded' / 'model.safetensors.index.json').write_text(json.dumps(dict(
        metadata={}, weight_map={k: shard for shard, keys in shards.items() for k in keys})))
    (root / 'hf_sharded' / 'config.json').write_text(json.dumps(hf_config()))
    files['hf_sharded_dir'] = root / 'hf_sharded'
    teacher = CLIPVisionTeacher(arch=ARCH, input_resolution=SIZE, num_return_layers=2)
    teacher.load_checkpoint(files['openai'])
    files['ours'] = root / 'ours.pth'
    torch.save(dict(state_dict=teacher.state_dict(), meta=dict(a=1)), files['ours'])
    files['distiller'] = root / 'distiller.pth'
    torch.save(dict(state_dict={**{f'teacher.{k}': v for k, v in teacher.state_dict().items()},
                                'student.blocks.0.weight': torch.zeros(3)}), files['distiller'])
    files['fp16'] = root / 'openai_fp16.pth'
    torch.save({k: v.half() for k, v in state.items()}, files['fp16'])
    return dict(files=files, model=model, state=state)


EXPECTED_FORMATS = {
    'torchscript': 'openai-torchscript', 'torchscript_fp16': 'openai-torchscript',
    'openai': 'openai-state-dict', 'fp16': 'openai-state-dict', 'extracted': 'clip-visual',
    'ours': 'clip-visual', 'distiller': 'umt_mm-distiller',
    'hf_safetensors_dir': 'huggingface-safetensors',
    'hf_safetensors_file': 'huggingface-safetensors',
    'hf_sharded_dir': 'huggingface-safetensors', 'hf_bin_dir': 'huggingface-bin'}


@pytest.mark.parametrize('kind', sorted(EXPECTED_FORMATS))
def test_every_format_loads_the_same_weights(clip_files, kind):
    state, fmt = load_clip_visual_state_dict(clip_files['files'][kind])
    assert fmt == EXPECTED_FORMATS[kind]
    reference = clip_files['state']
    assert state['conv1.weight'].shape == (WIDTH, 3, 1, PATCH, PATCH)
    assert all(v.dtype == torch.float32 for v in state.values())
    expected = {k[len('visual.'):]: v for k, v in reference.items() if k.startswith('visual.')}
    expected['conv1.weight'] = expected['conv1.weight'].unsqueeze(2)
    assert set(state) == set(expected)
    tol = dict(atol=2e-3, rtol=2e-3) if 'fp16' in kind else dict(atol=0, rtol=0)
    for key, value in expected.items():
        torch.testing.assert_close(state[key], value, **tol, msg=key)


def test_every_format_gives_identical_teacher_outputs(clip_files):
    torch.manual_seed(1)
    clip = torch.randn(1, 3, 2, SIZE, SIZE)
    outputs = {}
    for kind in EXPECTED_FORMATS:
        if 'fp16' in kind:
            continue
        teacher = CLIPVisionTeacher(arch=ARCH, input_resolution=SIZE, num_return_layers=2,
                                    init_cfg=dict(type='Pretrained',
                                                  checkpoint=str(clip_files['files'][kind])))
        teacher.init_weights()
        outputs[kind] = teacher(clip)
    base_features, base_attn = outputs['openai']
    assert base_features.shape == (2, 1, 2 * (SIZE // PATCH) ** 2, OUT)
    for kind, (features, attn) in outputs.items():
        assert torch.equal(features, base_features), kind
        assert torch.equal(attn, base_attn), kind


def test_teacher_matches_openai_modules(clip_files):
    """Independent semantics: OpenAI's blocks (nn.MultiheadAttention) run frame by frame."""
    model = clip_files['model']
    visual = model.visual
    teacher = CLIPVisionTeacher(arch=ARCH, input_resolution=SIZE, num_return_layers=2)
    teacher.load_checkpoint(clip_files['files']['openai'])
    torch.manual_seed(2)
    clip = torch.randn(2, 3, 3, SIZE, SIZE)
    features, cls_attn = teacher(clip)
    with torch.no_grad():
        frames = clip.transpose(1, 2).flatten(0, 1)
        x = visual.conv1(frames).flatten(2).transpose(1, 2)
        x = torch.cat((visual.class_embedding.expand(x.shape[0], 1, -1), x), 1)
        x = visual.ln_pre(x + visual.positional_embedding).transpose(0, 1)
        outs = []
        for block in visual.transformer.resblocks:
            y = block.ln_1(x)
            _, weights = block.attn(y, y, y, need_weights=True)
            x = block(x)
            outs.append(x)
        expected = []
        for out in outs:
            tokens = visual.ln_post(out[1:].transpose(0, 1)) @ visual.proj
            tokens = tokens.reshape(2, -1, OUT)
            expected.append(tokens / tokens.norm(dim=-1, keepdim=True))
    torch.testing.assert_close(features, torch.stack(expected), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(cls_attn, weights[:, 0, 1:], atol=1e-6, rtol=1e-4)
    assert (cls_attn.sum(-1) < 1).all()


def test_torchscript_is_read_without_running_it(clip_files, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError('torch.jit.load must not be called')
    monkeypatch.setattr(torch.jit, 'load', refuse)
    tensors = read_torchscript_tensors(clip_files['files']['torchscript'])
    for key, value in clip_files['state'].items():
        assert torch.equal(tensors[key], value), key
    state, fmt = load_clip_visual_state_dict(clip_files['files']['torchscript'])
    assert fmt == 'openai-torchscript'
    assert state['conv1.weight'].dim() == 5


def test_torchscript_archive_without_constants_is_still_recognised(tmp_path, clip_files):
    stripped = tmp_path / 'no_constants.pt'
    with zipfile.ZipFile(clip_files['files']['torchscript']) as zin, \
            zipfile.ZipFile(stripped, 'w') as zout:
        for item in zin.infolist():
            if not item.filename.endswith('/constants.pkl'):
                zout.writestr(item, zin.read(item))
    state, fmt = load_clip_visual_state_dict(stripped)
    assert fmt == 'openai-torchscript'
    assert torch.equal(state['proj'], clip_files['state']['visual.proj'])


def test_torchscript_with_a_foreign_global_is_refused(tmp_path, clip_files):
    src = clip_files['files']['torchscript']
    hostile = tmp_path / 'hostile.pt'
    payload = pickle.dumps(_Exploit(), protocol=2)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(hostile, 'w') as zout:
        for item in zin.infolist():
            data = payload if item.filename.endswith('/data.pkl') else zin.read(item)
            zout.writestr(item, data)
    marker = tmp_path / 'pwned'
    _Exploit.marker = str(marker)
    with pytest.raises(ValueError, match='os.system|posix.system|refusing'):
        load_clip_visual_state_dict(hostile)
    assert not marker.exists()


class _Exploit:
    marker = '/nonexistent'

    def __reduce__(self):
        import os
        return os.system, (f'touch {self.marker}',)


def test_unknown_layout_names_what_was_found(tmp_path):
    path = tmp_path / 'resnet.pth'
    torch.save({'layer1.0.conv1.weight': torch.zeros(2), 'fc.bias': torch.zeros(3)}, path)
    with pytest.raises(ValueError) as err:
        load_clip_visual_state_dict(path)
    message = str(err.value)
    assert str(path) in message
    assert "'layer1.0.conv1.weight'" in message and '2 entries' in message
    assert 'supported formats' in message and 'huggingface' in message


def test_garbage_and_missing_files(tmp_path):
    garbage = tmp_path / 'garbage.pt'
    garbage.write_bytes(b'not a checkpoint at all' * 10)
    with pytest.raises(ValueError, match='garbage.pt'):
        load_clip_visual_state_dict(garbage)
    with pytest.raises(FileNotFoundError, match='nope.pt'):
        load_clip_visual_state_dict(tmp_path / 'nope.pt')
    (tmp_path / 'empty_dir').mkdir()
    with pytest.raises(FileNotFoundError, match='model.safetensors'):
        load_clip_visual_state_dict(tmp_path / 'empty_dir')


def test_unsafe_pickle_needs_trusted(tmp_path, clip_files):
    path = tmp_path / 'with_args.pth'
    state = {k: v for k, v in clip_files['state'].items()}
    torch.save(dict(model=state, args=_Args()), path)
    with pytest.raises(ValueError, match='trusted=True'):
        load_clip_visual_state_dict(path)
    loaded, fmt = load_clip_visual_state_dict(path, trusted=True)
    assert fmt == 'openai-state-dict' and 'proj' in loaded


class _Args:
    lr = 1.0


def test_hf_vision_model_without_projection_is_explained(tmp_path, clip_files):
    hf = {k: v for k, v in to_hf(clip_files['state']).items() if k.startswith('vision_model.')}
    save_file(hf, str(tmp_path / 'model.safetensors'))
    with pytest.raises(ValueError, match='visual_projection.weight.*CLIPVisionModelWithProjection'):
        load_clip_visual_state_dict(tmp_path)


@pytest.mark.parametrize('config, match', [
    (hf_config(act='gelu'), 'QuickGELU'),
    (hf_config(eps=1e-6), 'layer_norm_eps'),
])
def test_hf_config_the_teacher_cannot_reproduce(tmp_path, clip_files, config, match):
    save_file(dict(to_hf(clip_files['state'])), str(tmp_path / 'model.safetensors'))
    (tmp_path / 'config.json').write_text(json.dumps(config))
    with pytest.raises(ValueError, match=match):
        load_clip_visual_state_dict(tmp_path)


def test_hf_heads_mismatch_is_reported(tmp_path, clip_files):
    save_file(dict(to_hf(clip_files['state'])), str(tmp_path / 'model.safetensors'))
    (tmp_path / 'config.json').write_text(json.dumps(hf_config(heads=4)))
    teacher = CLIPVisionTeacher(arch=ARCH, input_resolution=SIZE, num_return_layers=1)
    with pytest.raises(ValueError, match='4 attention heads, the teacher 2'):
        teacher.load_checkpoint(tmp_path)


def test_infer_arch_and_positional_resize(clip_files):
    state, _ = load_clip_visual_state_dict(clip_files['files']['openai'])
    assert infer_clip_arch(state) == dict(patch_size=PATCH, width=WIDTH, layers=LAYERS,
                                          heads=WIDTH // 64, output_dim=OUT, grid=SIZE // PATCH)
    pos = state['positional_embedding']
    resized = resize_clip_positional_embedding(pos, 3)
    assert resized.shape == (10, WIDTH)
    assert torch.equal(resized[0], pos[0])
    assert resize_clip_positional_embedding(pos, 4) is pos


def test_teacher_rejects_a_checkpoint_of_another_arch(clip_files):
    teacher = CLIPVisionTeacher(arch=dict(ARCH, layers=3), input_resolution=SIZE,
                                num_return_layers=1)
    with pytest.raises(ValueError, match=r'layers 2.*configured with layers 3'):
        teacher.load_checkpoint(clip_files['files']['openai'])


# ----------------------------------------------------------------------------------------
# tools/convert_clip_checkpoint.py
# ----------------------------------------------------------------------------------------
def _run_tool(repo_root, capsys, *args):
    """Run ``tools/convert_clip_checkpoint.py`` in-process (its ``main(argv)``)."""
    spec = importlib.util.spec_from_file_location(
        'convert_clip_checkpoint', repo_root / 'tools' / 'convert_clip_checkpoint.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    returncode = tool.main([str(a) for a in args])
    captured = capsys.readouterr()
    return SimpleNamespace(returncode=returncode, stdout=captured.out, stderr=captured.err)


def test_tool_converts_an_openai_file(repo_root, tmp_path, clip_files, capsys):
    out = tmp_path / 'teacher.pth'
    result = _run_tool(repo_root, capsys, clip_files['files']['torchscript'], out,
                       '--input-resolution', 48)
    assert result.returncode == 0, result.stderr
    assert 'format openai-torchscript' in result.stdout
    assert 'strict key report' in result.stdout and 'all keys match' in result.stdout
    saved = torch.load(out, weights_only=True)
    assert saved['meta']['format'] == 'openai-torchscript'
    assert saved['meta']['input_resolution'] == 48
    state = saved['state_dict']
    assert state['positional_embedding'].shape == (10, WIDTH)  # 4x4 grid resized to 3x3
    assert state['conv1.weight'].shape == (WIDTH, 3, 1, PATCH, PATCH)
    teacher = CLIPVisionTeacher(arch=dict(ARCH, heads=WIDTH // 64), input_resolution=48,
                                num_return_layers=1,
                                init_cfg=dict(type='Pretrained', checkpoint=str(out)))
    teacher.init_weights()
    for key, value in state.items():
        assert torch.equal(teacher.state_dict()[key], value)


def test_tool_fails_clearly(repo_root, tmp_path, clip_files, capsys):
    garbage = tmp_path / 'garbage.bin'
    garbage.write_bytes(b'\x00\x01garbage' * 50)
    result = _run_tool(repo_root, capsys, garbage, tmp_path / 'out.pth')
    assert result.returncode != 0
    assert 'garbage.bin' in result.stderr and 'Traceback' not in result.stderr
    assert not (tmp_path / 'out.pth').exists()
    result = _run_tool(repo_root, capsys, clip_files['files']['openai'], tmp_path / 'out.pth',
                       '--arch', 'b16')
    assert result.returncode != 0
    assert 'is not a CLIP-B16' in result.stderr and 'width 64' in result.stderr


def test_tool_checks_the_336_preset_grid(repo_root, tmp_path, clip_files, capsys):
    """``--arch l14_336`` is offered and checks the 24x24 positional grid of ViT-L/14@336px."""
    result = _run_tool(repo_root, capsys, clip_files['files']['openai'], tmp_path / 'out.pth',
                       '--arch', 'l14_336')
    assert result.returncode != 0
    assert 'is not a CLIP-L14_336' in result.stderr
    assert '(--arch l14_336: 24x24)' in result.stderr
    assert not (tmp_path / 'out.pth').exists()


# ----------------------------------------------------------------------------------------
# the documented L/14 flow: convert once at 196 px, point the L/16 pretraining config at it
# ----------------------------------------------------------------------------------------
L14_SMALL = dict(patch_size=14, width=64, layers=2, heads=2, output_dim=32, resolution=224)
L16_PRETRAIN = ('configs/pretrain/'
                'umt-large-p16-res224_clip-l14-distill_32xb64-u8-201e_kinetics710-rgb.py')


def test_l14_teacher_written_by_the_converter_loads_in_the_l16_config(
        repo_root, tmp_path, capsys, monkeypatch):
    """docs/checkpoints.md: ``convert_clip_checkpoint.py ViT-L-14.pt clip_l14_196.pth --arch l14
    --input-resolution 196``, then ``teacher_checkpoint`` of the L/16 pretraining config.

    The ``'l14'`` preset is shrunk (patch 14 and the 224 px table of ViT-L/14, 64 channels,
    2 blocks) so that an OpenAI-layout TorchScript file of that layout is cheap to write.
    """
    from mmengine.config import Config

    from umt_mm.models.backbones import clip_teacher
    monkeypatch.setitem(clip_teacher.ARCH_PRESETS, 'l14', L14_SMALL)
    model = _randomise(OpenAICLIP(width=64, layers=2, heads=2, patch=14, out=32, size=224))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        traced = torch.jit.trace(model, torch.randn(1, 3, 224, 224)).half()  # as released
    src = tmp_path / 'ViT-L-14.pt'
    torch.jit.save(traced, str(src))
    assert model.visual.positional_embedding.shape[0] == 16 * 16 + 1

    out = tmp_path / 'clip_l14_196.pth'
    result = _run_tool(repo_root, capsys, src, out, '--arch', 'l14', '--input-resolution', 196)
    assert result.returncode == 0, result.stderr
    saved = torch.load(out, weights_only=True)
    assert saved['state_dict']['positional_embedding'].shape == (14 * 14 + 1, 64)

    cfg = Config.fromfile(repo_root / L16_PRETRAIN)
    assert cfg.model.teacher.arch == 'l14' and cfg.model.teacher.input_resolution == 196
    cfg.merge_from_dict({  # --cfg-options: the converted file, a tiny student
        'teacher_checkpoint': str(out),
        'model.teacher.init_cfg.checkpoint': str(out),
        'model.teacher.num_return_layers': 2, 'model.num_return_layers': 2,
        'model.align_dims': 32})
    cfg.model.encoder.arch = dict(embed_dims=64, depth=2, num_heads=2, mlp_ratio=4.0)
    from mmaction.registry import MODELS
    distiller = MODELS.build(cfg.model)
    distiller.init_weights()

    direct = CLIPVisionTeacher(arch='l14', input_resolution=196, num_return_layers=2,
                               init_cfg=dict(type='Pretrained', checkpoint=str(src)))
    direct.init_weights()
    for key, value in direct.state_dict().items():
        assert torch.equal(distiller.teacher.state_dict()[key], value), key
    clip = torch.randn(1, 3, 2, 224, 224)
    features, cls_attn = distiller.teacher(clip)
    expected_features, expected_attn = direct(clip)
    assert features.shape == (2, 1, 2 * 14 * 14, 32)
    assert torch.equal(features, expected_features)
    assert torch.equal(cls_attn, expected_attn)


def test_l14_teacher_rejects_a_table_of_neither_grid(tmp_path, monkeypatch):
    """A table that is neither the preset's (16x16) nor the teacher's (14x14 at 196 px)."""
    from umt_mm.models.backbones import clip_teacher
    monkeypatch.setitem(clip_teacher.ARCH_PRESETS, 'l14', L14_SMALL)
    model = _randomise(OpenAICLIP(width=64, layers=2, heads=2, patch=14, out=32, size=336))
    path = tmp_path / 'vit_l14_336.pth'
    torch.save(model.state_dict(), path)
    teacher = CLIPVisionTeacher(arch='l14', input_resolution=196, num_return_layers=1)
    with pytest.raises(ValueError,
                       match=r'577 rows \(24x24 patches \+ CLS\).*14x14 \+ CLS = 197'):
        teacher.load_checkpoint(path)
