"""Every tool command of README.md and docs/tools.md runs as written, from a clone.

The ```bash / ```shell blocks are read, continuation lines joined, and each ``python tools/...``
or ``bash tools/...`` command is run with this interpreter in a temporary folder that mirrors
the checkout (links to tools/, demo/, configs/, action_detection/), so the outputs stay out of
it. Lines are skipped only by rule (:func:`skip_reason`): downloads, ``make``, ``source``,
``pip``, usage synopses with upper-case placeholders, commands of other programs, and the AVA
demo with MMDet's downloaded Faster R-CNN (its ``--proposals`` variant runs).

What the downloads would give is written small: the official UMT checkpoints the commands
convert are tiny models in the official layout, the converted checkpoints they use are tiny
models in umt_mm's layout, and the configs they name are replaced in the mirror by files that
inherit them and shrink the model (1 block, 32 wide). A K400 validation list over the sample
videos stands in for ``data/kinetics400/``, a two-line list for ``videos.txt``.
"""
from __future__ import annotations

import csv
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
DOCS = ('README.md', 'docs/tools.md')
ALL_DOCS = ('README.md', 'action_detection/README.md', *sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / 'docs').glob('*.md')))
MIRRORED = ('tools', 'demo', 'configs', 'action_detection')

K400 = 'configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py'
AVA = 'action_detection/configs/umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb.py'
PRETRAIN = 'configs/pretrain/umt-base-p16-res224_clip-b16-distill_32xb64-u8-201e_kinetics710-rgb.py'
TINY_ARCH = "arch=dict(_delete_=True, embed_dims=32, depth=1, num_heads=2, mlp_ratio=2.0)"
# the configs the commands name, shrunk; `{base}` is the repository's file
TINY_CONFIGS = {
    K400: ("_base_ = ['{base}']\n"
           f"model = dict(backbone=dict({TINY_ARCH}), cls_head=dict(in_channels=32))\n"
           "test_dataloader = dict(num_workers=0, persistent_workers=False)\n"),
    AVA: ("_base_ = ['{base}']\n"
          f"model = dict(backbone=dict({TINY_ARCH}),\n"
          "             roi_head=dict(bbox_head=dict(in_channels=32)))\n"),
    PRETRAIN: ("_base_ = ['{base}']\n"
               "model = dict(\n"
               "    _delete_=True, type='UMTDistiller', align_dims=16, num_return_layers=2,\n"
               "    encoder=dict(type='UMTVisionTransformer', img_size=32, num_frames=4,\n"
               "                 arch=dict(embed_dims=32, depth=2, num_heads=2, mlp_ratio=2)),\n"
               "    teacher=dict(type='CLIPVisionTeacher', input_resolution=32,\n"
               "                 num_return_layers=2, arch=dict(patch_size=16, width=32,\n"
               "                 layers=2, heads=2, output_dim=16)),\n"
               "    data_preprocessor=dict(type='ActionDataPreprocessor',\n"
               "                           mean=[123.675, 116.28, 103.53],\n"
               "                           std=[58.395, 57.12, 57.375], format_shape='NCTHW'))\n"),
}
# AVA actions the tiny detector is sure of (logit 4: score 0.98 x person score 1; others -4)
SURE_ACTIONS = (11, 12, 14)  # sit, stand, walk

PLACEHOLDER = re.compile(r'[A-Z][A-Z0-9_]{2,}([.|][A-Za-z0-9_.|]*)?')


@dataclass(frozen=True)
class DocCommand:
    """A command of a documentation file (continuation lines joined, comments dropped)."""

    doc: str
    line: int
    text: str

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.text, comments=True)

    def __str__(self) -> str:
        return f'{self.doc}:{self.line}'


def doc_commands(doc: str) -> list[DocCommand]:
    """The commands of the ```bash / ```shell blocks of ``doc``, in order."""
    text = (ROOT / doc).read_text()
    commands = []
    for block in re.finditer(r'^```(?:bash|shell)\n(.*?)^```', text, re.S | re.M):
        first_line = text.count('\n', 0, block.start()) + 2
        joined, start = '', None
        for offset, line in enumerate(block.group(1).split('\n')):
            start = first_line + offset if start is None else start
            if line.rstrip().endswith('\\'):
                joined += line.rstrip()[:-1] + ' '
                continue
            command, joined = (joined + line).strip(), ''
            if command and not command.startswith('#'):
                commands.append(DocCommand(doc, start, command))
            start = None
    return commands


def skip_reason(command: DocCommand) -> str | None:
    """Why a command is not run (None: it is run)."""
    argv = command.argv
    if argv[0] in ('wget', 'curl') or argv[:2] == ['mim', 'download']:
        return 'a download'
    if argv[0] == 'make':
        return 'a make target (the whole set-up)'
    if argv[0] in ('source', '.'):
        return 'shell set-up'
    if argv[0] == 'pip' or argv[1:3] == ['-m', 'pip']:
        return 'installs packages'
    if any(PLACEHOLDER.fullmatch(arg) or arg.startswith('[') for arg in argv):
        return 'a usage synopsis (upper-case placeholders)'
    if argv[0] not in ('python', 'bash') or not argv[1].startswith('tools/'):
        return 'not a tools/ command'
    if '--det-checkpoint' in argv:
        return "needs MMDet's downloaded Faster R-CNN (the --proposals variant runs)"
    return None


def commands_to_run() -> list[tuple[DocCommand, ...]]:
    """The commands run, identical ones once (with every place they appear)."""
    runs: dict[str, list[DocCommand]] = {}
    for doc in DOCS:
        for command in doc_commands(doc):
            if skip_reason(command) is None:
                runs.setdefault(' '.join(command.argv), []).append(command)
    return [tuple(places) for places in runs.values()]


# ---------------------------------------------------------------------------------------------
# the workspace

def _mirror(src: Path, dst: Path, replaced: dict[Path, str]) -> None:
    """Link ``src`` at ``dst``; folders holding a ``replaced`` file become real folders."""
    if not any(src == path or src in path.parents for path in replaced):
        dst.symlink_to(src)
    elif src in replaced:
        dst.write_text(replaced[src])
    else:
        dst.mkdir()
        for child in sorted(src.iterdir()):
            _mirror(child, dst / child.name, replaced)


def _tiny_models(workspace: Path) -> None:
    """The checkpoints the commands read: tiny stand-ins in the official and our layouts."""
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from umt_mm.converters.umt_official import AVA_HEAD_PREFIX, to_official_finetune
    init_default_scope('mmaction')
    ckpts = workspace / 'checkpoints'
    ckpts.mkdir()

    def build(config: str, seed: int):
        torch.manual_seed(seed)
        model = MODELS.build(Config.fromfile(workspace / config).model)
        model.init_weights()
        return model.state_dict()

    k400 = build(K400, 0)
    torch.save({'model': to_official_finetune(k400)},
               ckpts / 'b16_ptk710_ftk710_ftk400_f8_res224.pth')
    torch.save({'state_dict': k400, 'meta': {}}, ckpts / 'umt-base-p16_k400.pth')

    ava = build(AVA, 1)
    ava[AVA_HEAD_PREFIX + 'weight'].zero_()  # scores: sigmoid(bias) x person score
    bias = ava[AVA_HEAD_PREFIX + 'bias']
    bias.fill_(-4.0)
    bias[list(SURE_ACTIONS)] = 4.0
    official = {}  # the inverse of convert_official_ava: 80 head rows, action j + 1 -> row j
    for key, value in ava.items():
        if key.startswith('backbone.'):
            official[key[len('backbone.'):]] = value
        elif key.startswith(AVA_HEAD_PREFIX):
            official['head.' + key[len(AVA_HEAD_PREFIX):]] = value[1:]
        else:
            raise AssertionError(f'{key} has no place in the official AVA detector')
    torch.save({'module': official}, ckpts / 'b16_ptk710_ftk710_ftava_f8_res224.pth')
    torch.save({'state_dict': ava, 'meta': {}}, ckpts / 'umt-base-p16_ava22.pth')

    pretrain = {k: v for k, v in build(PRETRAIN, 2).items() if not k.startswith('teacher.')}
    torch.save({'state_dict': pretrain, 'meta': {}}, ckpts / 'umt-base-p16_pretrain.pth')


@pytest.fixture(scope='module')
def workspace(tmp_path_factory) -> Path:
    ws = tmp_path_factory.mktemp('docs_commands')
    replaced = {ROOT / name: text.format(base=ROOT / name) for name, text in TINY_CONFIGS.items()}
    for name in MIRRORED:
        _mirror(ROOT / name, ws / name, replaced)
    _tiny_models(ws)
    val = ws / 'data/kinetics400/videos_val'
    val.mkdir(parents=True)
    for video in ('demo.mp4', 'demo_spatiotemporal_det.mp4'):
        (val / video).symlink_to(ROOT / 'demo' / video)
    (ws / 'data/kinetics400/kinetics400_val_list_videos.txt').write_text(
        'demo.mp4 0\ndemo_spatiotemporal_det.mp4 1\n')
    (ws / 'data/videos').symlink_to(ROOT / 'demo')
    (ws / 'videos.txt').write_text('demo.mp4\ndemo_spatiotemporal_det.mp4\n')
    return ws


# ---------------------------------------------------------------------------------------------
# the tests

def test_commands_are_found_and_skipped_only_by_rule():
    every = [c for doc in DOCS for c in doc_commands(doc)]
    reasons = {str(c): skip_reason(c) for c in every}
    run = [c for c in every if reasons[str(c)] is None]
    assert len(run) >= 10, reasons
    tools = {c.argv[1] for c in run}
    assert {'tools/convert_umt_checkpoint.py', 'tools/test.py', 'tools/demo_spatiotemporal.py',
            'tools/inference_long_video.py', 'tools/extract_features.py'} <= tools
    # every detector-based AVA demo has a --proposals variant in the same file
    for command in every:
        if reasons[str(command)] and '--det-checkpoint' in command.argv:
            assert any('--proposals' in c.argv and c.argv[1] == command.argv[1]
                       for c in run if c.doc == command.doc), command
    # the rules themselves
    synopsis = DocCommand('x', 1, 'python tools/test.py CONFIG CHECKPOINT [--dump preds.pkl]')
    assert 'synopsis' in skip_reason(synopsis)
    assert skip_reason(DocCommand('x', 1, 'python tools/demo.py a.mp4 b.py c.pth')) is None


def test_no_command_reads_the_shared_folder():
    """Commands a user reads name files of the clone (demo/, bundled label maps)."""
    for doc in ALL_DOCS:
        for command in doc_commands(doc):
            assert '../shared' not in command.text, f'{command}: {command.text}'


def _outputs(argv: list[str]) -> list[str]:
    outs = [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg.startswith('--out')]
    if argv[1] == 'tools/convert_umt_checkpoint.py':
        outs.append(argv[3])
    if argv[1] == 'tools/extract_features.py':
        outs.append(str(Path(argv[5 if argv[0] == 'python' else 4]) / 'manifest.json'))
    return outs


def _param(places: tuple[DocCommand, ...]):
    """Each command starts a Python process (10-40 s on a loaded 2-core machine), so only the
    AVA demo on the drawn people is in the default run; the others are slow tests."""
    fast = places[0].argv[1] == 'tools/demo_spatiotemporal.py'
    return pytest.param(places, marks=() if fast else pytest.mark.slow,
                        id=','.join(map(str, places)))


@pytest.mark.parametrize('places', [_param(places) for places in commands_to_run()])
def test_documented_command_runs(workspace, places):
    argv = places[0].argv
    outputs = _outputs(argv)
    for out in outputs:  # a rerun of a command must write its outputs again
        (workspace / out).unlink(missing_ok=True)
    program = [sys.executable] if argv[0] == 'python' else ['bash']
    env = dict(os.environ, PATH=f'{Path(sys.executable).parent}{os.pathsep}{os.environ["PATH"]}',
               CUDA_VISIBLE_DEVICES='')
    result = subprocess.run(program + argv[1:], cwd=workspace, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, (f'{places[0]}: {places[0].text}\n'
                                    f'{result.stdout[-3000:]}\n{result.stderr[-5000:]}')
    for out in outputs:
        assert (workspace / out).is_file() and (workspace / out).stat().st_size > 0, out
    if argv[1] == 'tools/demo_spatiotemporal.py':
        _check_ava_demo(workspace, argv)


def _check_ava_demo(workspace: Path, argv: list[str]) -> None:
    """The drawn people are detected doing the actions the tiny detector is sure of."""
    rows = list(csv.reader(open(workspace / argv[argv.index('--out-csv') + 1])))
    assert rows and {r[0] for r in rows} == {'demo_spatiotemporal_det'}
    assert {int(r[6]) for r in rows} == set(SURE_ACTIONS)
    assert {int(r[1]) for r in rows} == set(range(6))  # every key frame of the proposals
    result = json.loads((workspace / argv[argv.index('--out-json') + 1]).read_text())
    detections = result['detections']
    assert len(detections) == 6
    names = {a['name'] for d in detections for box in d['boxes'] for a in box['actions']}
    assert names == {'sit', 'stand', 'walk'}
