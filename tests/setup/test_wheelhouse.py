"""tools/misc/make_wheelhouse.py: what an offline bundle holds, the pip command lines that
make it, and that a bundle resolves with the index switched off."""
import importlib.util
import json
import os
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def wh():
    spec = importlib.util.spec_from_file_location('make_wheelhouse',
                                                  ROOT / 'tools/misc/make_wheelhouse.py')
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def isolated_pip(monkeypatch):
    """pip with no configured index, find-links or constraints (only the command's own)."""
    for key in list(os.environ):
        if key.startswith('PIP_'):
            monkeypatch.delenv(key)
    monkeypatch.setenv('PIP_CONFIG_FILE', os.devnull)


def fake_wheel(folder: Path, name: str, version: str = '1.0', requires=()) -> Path:
    dist = f'{name.replace("-", "_")}-{version}'
    path = folder / f'{dist}-py3-none-any.whl'
    meta = f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n' + ''.join(
        f'Requires-Dist: {r}\n' for r in requires)
    with zipfile.ZipFile(path, 'w') as z:
        z.writestr(f'{dist}.dist-info/METADATA', meta)
        z.writestr(f'{dist}.dist-info/WHEEL', 'Wheel-Version: 1.0\nGenerator: test\n'
                   'Root-Is-Purelib: true\nTag: py3-none-any\n')
        z.writestr(f'{dist}.dist-info/RECORD', '')
    return path


def test_bundle_requirements(wh):
    build, torch, stack, own = wh.bundle_requirements()
    # one group per pip command of tools/setup_env.sh, in its order
    assert build == ['setuptools>=77,<82', 'wheel', 'ninja'] and torch == ['torch==2.13.0+cpu']
    for req in ('mmengine==0.10.7', 'mmaction2==1.2.0', 'mmdet==3.3.0', 'decord==0.6.0',
                'openmim', 'addict', 'yapf', 'opencv-python>=3', 'safetensors'):
        assert req in stack, req
    for req in ('mmengine==0.10.7', 'av>=12', 'setuptools>=77,<82', 'pytest>=7',
                'onnxruntime>=1.18', 'opencv-python>=3', 'Pillow'):
        assert req in own, req
    for group in (stack, own):
        names = [wh._name(r) for r in group]
        assert 'mmcv' not in names and group[0] == 'torch==2.13.0+cpu'  # the installed torch
        assert len(names) == len(set(names))  # mmengine==0.10.7, not also mmcv's >=0.3.0
    assert wh.bundle_requirements(torch='cu126')[1] == ['torch==2.13.0+cu126']


def test_platform_tags_for_a_glibc(wh):
    tags = wh.manylinux_platforms('2.28')
    assert tags[0] == 'manylinux_2_28_x86_64' and tags[-1] == 'linux_x86_64'
    assert {'manylinux_2_17_x86_64', 'manylinux2014_x86_64', 'manylinux2010_x86_64',
            'manylinux1_x86_64', 'manylinux_2_5_x86_64'} <= set(tags)
    assert 'manylinux_2_29_x86_64' not in tags
    assert 'manylinux2014_x86_64' not in wh.manylinux_platforms('2.12')
    with pytest.raises(ValueError):
        wh.manylinux_platforms('3.1')


def test_resolve_and_download_command_lines(wh, tmp_path):
    extra = wh.torch_index('cu126', 'https://download.pytorch.org/whl/')
    assert extra == ['--extra-index-url', 'https://download.pytorch.org/whl/cu126']
    assert wh.torch_index('cu126', '') == []
    cmd = wh.resolve_command('py', ['a', 'b'], tmp_path / 'r.json', extra)
    assert cmd[:6] == ['py', '-m', 'pip', 'install', '--dry-run', '--ignore-installed']
    assert cmd[-4:] == [*extra, 'a', 'b'] and str(tmp_path / 'r.json') in cmd
    report = {'install': [
        {'metadata': {'name': 'numpy', 'version': '2.4.0'},
         'download_info': {'url': 'https://x/numpy-2.4.0-cp311-cp311-manylinux_2_28_x86_64.whl'}},
        {'metadata': {'name': 'crcmod', 'version': '1.7'},
         'download_info': {'url': 'https://x/crcmod-1.7.tar.gz'}},
        {'metadata': {'name': 'torch', 'version': '2.13.0+cpu'},
         'download_info': {'url': 'file:///w/torch-2.13.0+cpu-cp311-cp311-linux_x86_64.whl'}}]}
    dists = wh.resolved(report)
    assert dists == [('numpy', '2.4.0', True), ('crcmod', '1.7', False),
                     ('torch', '2.13.0+cpu', True)]
    wheels, sdists = wh.download_commands('py', dists, tmp_path, '3.11',
                                          ['manylinux_2_28_x86_64', 'any'])
    assert wheels[:5] == ['py', '-m', 'pip', 'download', '--no-deps']
    i = wheels.index('--only-binary=:all:')
    assert wheels[i:i + 9] == ['--only-binary=:all:', '--python-version', '3.11',
                               '--implementation', 'cp', '--abi', 'cp311', '--abi', 'abi3']
    assert wheels[-6:] == ['--platform', 'manylinux_2_28_x86_64', '--platform', 'any',
                           'numpy==2.4.0', 'torch==2.13.0+cpu']
    assert '--no-deps' in sdists and '--no-binary=:all:' in sdists
    assert sdists[-2:] == ['mmcv==2.1.0', 'crcmod==1.7']  # mmcv's sdist and the sdist-only
    # openmim's resolution: no mmcv again, no sdist command without sdists
    only_wheels = wh.download_commands('py', dists[:1], tmp_path, with_mmcv=False)
    assert len(only_wheels) == 1 and only_wheels[0][-1] == 'numpy==2.4.0'


def test_make_wheelhouse_runs_resolve_download_check(wh, tmp_path):
    calls = []

    def run(cmd):
        calls.append(cmd)
        if '--report' in cmd and '--no-index' not in cmd:
            name = cmd[-1].split('=')[0].split('>')[0]
            Path(cmd[cmd.index('--report') + 1]).write_text(json.dumps({'install': [
                {'metadata': {'name': name, 'version': '1'},
                 'download_info': {'url': f'https://x/{name}-1-py3-none-any.whl'}}]}))
        if 'download' in cmd and '--no-binary=:all:' in cmd:
            (tmp_path / 'wh' / 'mmcv-2.1.0.tar.gz').write_bytes(b'')
    cache = tmp_path / 'cache' / 'torch-2.13.0+cu126-cuda12.6-arch9.0'
    cache.mkdir(parents=True)
    (cache / 'mmcv-2.1.0-cp311-cp311-linux_x86_64.whl').write_bytes(b'w')
    wh.make_wheelhouse(tmp_path / 'wh', torch='cu126', torch_index_root='https://t/whl',
                       mmcv_cache=tmp_path / 'cache', python='py', run=run)
    kinds = [('resolve' if '--report' in c and '--no-index' not in c else
              'check' if '--no-index' in c else 'download') for c in calls]
    # per resolution: resolve, wheels, sdists (mmcv with the first only); then the checks
    assert kinds == ['resolve', 'download', 'download'] + ['resolve', 'download'] * 3 + \
        ['check'] * 4
    assert all('--extra-index-url' in c for c in calls[:9])
    assert calls[1][-1] == 'ninja==1' and calls[2][-1] == 'mmcv==2.1.0'
    assert calls[4][-1] == 'torch==1' and calls[6][-1] == 'opencv-python==1'
    assert sum('mmcv==2.1.0' in c for c in calls) == 1
    assert [c[-1] for c in calls[9:]] == ['ninja', 'torch==2.13.0+cu126', 'opencv-python>=3',
                                          'opencv-python>=3']
    assert (tmp_path / 'wh/mmcv/torch-2.13.0+cu126-cuda12.6-arch9.0/'
            'mmcv-2.1.0-cp311-cp311-linux_x86_64.whl').read_bytes() == b'w'
    saved = json.loads((tmp_path / 'wh/requirements.json').read_text())
    assert saved['torch'] == 'cu126' and saved['groups'][1] == ['torch==2.13.0+cu126']


def test_small_bundle_resolves_offline_and_a_missing_dependency_is_named(
        wh, tmp_path, isolated_pip):
    folder = tmp_path / 'wh'
    folder.mkdir()
    fake_wheel(folder, 'umtwh-app', requires=['umtwh-dep>=1.0'])
    dep = fake_wheel(folder, 'umtwh-dep', '1.2')
    (folder / 'mmcv-2.1.0.tar.gz').write_bytes(b'')
    wh.check_bundle(folder, [['umtwh-app']])
    report = tmp_path / 'r.json'
    wh._run(wh.check_command(sys.executable, folder, ['umtwh-app'], report))
    got = {i['metadata']['name']: i['metadata']['version']
           for i in json.loads(report.read_text())['install']}
    assert got == {'umtwh-app': '1.0', 'umtwh-dep': '1.2'}
    dep.unlink()
    with pytest.raises(SystemExit, match='umtwh-dep'):
        wh.check_bundle(folder, [['umtwh-app']])
    fake_wheel(folder, 'umtwh-dep', '1.2')
    (folder / 'mmcv-2.1.0.tar.gz').unlink()
    with pytest.raises(SystemExit, match='neither mmcv-2.1.0.tar.gz nor a built mmcv wheel'):
        wh.check_bundle(folder, [['umtwh-app']])


def test_cli_rejects_a_bad_torch_tag(wh, tmp_path):
    with pytest.raises(SystemExit):
        wh.main([str(tmp_path), '--torch', 'cuda12'])


@pytest.mark.slow
def test_full_bundle_from_the_registry_resolves_offline(wh, tmp_path, monkeypatch):
    """Downloads the whole stack (~1 GB with torch): then everything resolves offline."""
    folder = tmp_path / 'wheelhouse'
    wh.make_wheelhouse(folder, torch='cpu', torch_index_root=None)
    assert (folder / 'mmcv-2.1.0.tar.gz').exists()
    assert list(folder.glob('torch-2.13.0*.whl'))
    assert list(folder.glob('setuptools-*.whl')) and list(folder.glob('ninja-*.whl'))
    for key in list(os.environ):  # the offline check with no configured index at all
        if key.startswith('PIP_'):
            monkeypatch.delenv(key)
    monkeypatch.setenv('PIP_CONFIG_FILE', os.devnull)
    wh.main([str(folder), '--check'])
