"""tools/misc/cuda_build_env.py: how make setup builds mmcv (CPU or CUDA ops), with injected
device capabilities, toolkits and compilers; and tools/setup_env.sh's use of it."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / 'tools/misc/cuda_build_env.py'


@pytest.fixture(scope='module')
def cbe():
    spec = importlib.util.spec_from_file_location('cuda_build_env', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


class Toolchain:
    """A fake machine: files that exist, executables on PATH, command outputs."""

    def __init__(self, nvcc='12.6', gcc='13.3.0', cuda_home='/usr/local/cuda', on_path=True,
                 compiler_banner='gcc (Ubuntu 13.3.0) 13.3.0'):
        self.files = {f'{cuda_home}', f'{cuda_home}/bin/nvcc'} if nvcc else set()
        self.path = {'gcc': '/usr/bin/gcc', 'gcc-12': '/usr/bin/gcc-12'}
        if nvcc and on_path:
            self.path['nvcc'] = f'{cuda_home}/bin/nvcc'
        self.nvcc, self.gcc, self.banner = nvcc, gcc, compiler_banner
        self.commands = []

    def which(self, name):
        return self.path.get(name)

    def exists(self, path):
        return path in self.files

    def run(self, cmd):
        self.commands.append(list(cmd))
        if cmd[0].endswith('nvcc'):
            return f'Cuda compilation tools, release {self.nvcc}, V{self.nvcc}.77\n'
        if cmd[1] == '--version':
            return self.banner + '\n'
        return self.gcc + '\n'


def cuda_torch(cbe, caps=((9, 0),), version='2.13.0+cu126', cuda='12.6'):
    return cbe.TorchInfo(version, cuda, list(caps), ['sm_80', 'sm_86', 'sm_90'])


def plan(cbe, torch, env, tools=None):
    tools = tools or Toolchain()
    return cbe.make_plan(torch, env, tools.which, tools.exists, tools.run)


# ---------------------------------------------------------------- cache key
def test_cpu_cache_key_is_unchanged(cbe):
    # existing caches (CI) live under torch-<version>: the key must stay exactly that
    assert cbe.cache_key('2.13.0+cpu') == 'torch-2.13.0+cpu'
    p = plan(cbe, cbe.TorchInfo('2.13.0+cpu'), {})
    assert (p.kind, p.cache_key, p.env, p.patch_std) == ('cpu', 'torch-2.13.0+cpu', {}, False)


def test_cuda_cache_key_has_torch_cuda_and_arch(cbe):
    assert cbe.cache_key('2.13.0+cu126', '12.6', '8.0;9.0') == \
        'torch-2.13.0+cu126-cuda12.6-arch8.0_9.0'
    with pytest.raises(ValueError):
        cbe.cache_key('2.13.0+cu126', '12.6')
    p = plan(cbe, cuda_torch(cbe, caps=[(9, 0), (8, 0), (9, 0)]), {})
    assert p.kind == 'cuda' and p.cache_key == 'torch-2.13.0+cu126-cuda12.6-arch8.0_9.0'
    assert p.env == {'FORCE_CUDA': '1', 'MMCV_WITH_OPS': '1', 'CUDA_HOME': '/usr/local/cuda',
                     'TORCH_CUDA_ARCH_LIST': '8.0;9.0'}
    assert p.patch_std  # torch 2.13: C++20


# ---------------------------------------------------------------- arch detection
def test_arch_from_injected_capabilities(cbe):
    assert cbe.arch_list_from_capabilities([(9, 0)], ['sm_90']) == '9.0'
    assert cbe.arch_list_from_capabilities([(8, 6), (8, 0), (8, 6)]) == '8.0;8.6'
    # a GPU newer than the torch build: built for the newest arch torch supports
    assert cbe.arch_list_from_capabilities([(12, 0)], ['sm_80', 'sm_90']) == '9.0'
    with pytest.raises(cbe.RequirementError, match='no GPU is visible.*TORCH_CUDA_ARCH_LIST'):
        cbe.arch_list_from_capabilities([], ['sm_90'])


def test_user_arch_list_wins_and_is_normalized(cbe):
    assert cbe.normalize_arch_list('9.0+PTX 8.0,8.0') == '8.0;9.0+PTX'
    assert cbe.normalize_arch_list('Hopper') == '9.0'
    assert cbe.normalize_arch_list('Ampere+PTX') == '8.0;8.6+PTX'
    with pytest.raises(cbe.RequirementError, match="'sm90'"):
        cbe.normalize_arch_list('sm90')
    # no GPU visible (a build machine): the user's list makes the CUDA build possible
    p = plan(cbe, cuda_torch(cbe, caps=()), {'FORCE_CUDA': '1', 'TORCH_CUDA_ARCH_LIST': '9.0'})
    assert p.kind == 'cuda' and p.env['TORCH_CUDA_ARCH_LIST'] == '9.0'
    with pytest.raises(cbe.RequirementError, match='no GPU is visible'):
        plan(cbe, cuda_torch(cbe, caps=()), {'FORCE_CUDA': '1'})


def test_cpu_or_cuda_decision(cbe):
    # CUDA torch, no GPU, nothing asked: CPU ops (as mmcv's setup.py would), with a note
    p = plan(cbe, cuda_torch(cbe, caps=()), {})
    assert p.kind == 'cpu' and p.cache_key == 'torch-2.13.0+cu126' and p.notes
    # asked for CUDA with a CPU torch
    with pytest.raises(cbe.RequirementError, match='CPU build.*UMT_MM_TORCH_CUDA'):
        plan(cbe, cbe.TorchInfo('2.13.0+cpu'), {'FORCE_CUDA': '1'})


# ---------------------------------------------------------------- requirements
def test_no_nvcc_anywhere(cbe):
    tools = Toolchain(nvcc=None)
    with pytest.raises(cbe.RequirementError, match='CUDA toolkit not found') as err:
        plan(cbe, cuda_torch(cbe), {}, tools)
    assert '\n' not in str(err.value)


def test_cuda_home_without_nvcc(cbe):
    with pytest.raises(cbe.RequirementError, match=r'nvcc not found at /opt/cuda/bin/nvcc '
                       r'\(CUDA_HOME from CUDA_HOME\)'):
        plan(cbe, cuda_torch(cbe), {'CUDA_HOME': '/opt/cuda'})


def test_cuda_home_found_from_nvcc_on_path(cbe):
    tools = Toolchain(cuda_home='/opt/cuda-12.6')
    p = plan(cbe, cuda_torch(cbe), {}, tools)
    assert p.env['CUDA_HOME'] == '/opt/cuda-12.6'
    assert ['/opt/cuda-12.6/bin/nvcc', '--version'] in tools.commands


def test_nvcc_major_must_match_torch(cbe):
    with pytest.raises(cbe.RequirementError, match='CUDA 11.8 but torch .* CUDA 12.6'):
        plan(cbe, cuda_torch(cbe), {}, Toolchain(nvcc='11.8', gcc='11.4.0'))


@pytest.mark.parametrize('cuda,gcc,ok', [
    ('12.6', '13.3.0', True), ('12.6', '14.2.0', False), ('12.8', '14.2.0', True),
    ('11.8', '12.3.0', False), ('11.8', '11.4.0', True), ('12.1', '12.3.0', True),
    ('12.1', '13.1.0', False)])
def test_gcc_too_new_for_cuda(cbe, cuda, gcc, ok):
    torch = cuda_torch(cbe, version=f'2.13.0+cu{cuda.replace(".", "")}', cuda=cuda)
    tools = Toolchain(nvcc=cuda, gcc=gcc)
    if ok:
        assert plan(cbe, torch, {}, tools).kind == 'cuda'
    else:
        limit = cbe.MAX_GCC_FOR_CUDA[tuple(map(int, cuda.split('.')))]
        with pytest.raises(cbe.RequirementError, match=f'gcc {gcc} is too new for CUDA {cuda} '
                           rf'\(nvcc accepts gcc <= {limit}\).*CC=gcc-{limit}'):
            plan(cbe, torch, {}, tools)


def test_compiler_from_cc_and_unknown_cuda(cbe):
    tools = Toolchain(gcc='12.3.0')
    plan(cbe, cuda_torch(cbe), {'CC': 'gcc-12'}, tools)
    assert ['gcc-12', '-dumpfullversion', '-dumpversion'] in tools.commands
    with pytest.raises(cbe.RequirementError, match="host compiler 'cc-missing' not found"):
        plan(cbe, cuda_torch(cbe), {'CC': 'cc-missing'})
    # a CUDA release newer than the table is not blocked
    p = plan(cbe, cuda_torch(cbe, cuda='13.9', version='2.13.0+cu139'), {},
             Toolchain(nvcc='13.9', gcc='16.1.0'))
    assert 'not checked' in p.notes[0]
    assert cbe.max_gcc_for_cuda((12, 6)) == 13 and cbe.max_gcc_for_cuda((99, 0)) is None


def test_cxx20_patch_of_mmcv_setup(cbe):
    text = ("        extra_compile_args['cxx'] = ['-std=c++17']\n"
            "                extra_compile_args['nvcc'] += ['-std=c++17']\n")
    patched = cbe.patch_mmcv_setup(text)
    assert '-std=c++17' not in patched and patched.count('-std=c++20') == 2
    with pytest.raises(cbe.RequirementError, match='not mmcv 2.1.0'):
        cbe.patch_mmcv_setup('setup()')
    older = cbe.make_plan(cuda_torch(cbe, version='2.6.0+cu126'), {}, Toolchain().which,
                          Toolchain().exists, Toolchain().run)
    assert not older.patch_std


def test_plan_as_shell_lines(cbe):
    p = plan(cbe, cuda_torch(cbe), {'TORCH_CUDA_ARCH_LIST': '8.0 9.0'})
    out = subprocess.run(['bash', '-c', p.shell() + 'echo "$UMT_MM_BUILD|$UMT_MM_CACHE_KEY|'
                          '$UMT_MM_PATCH_STD|$TORCH_CUDA_ARCH_LIST|$FORCE_CUDA"'],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[-1] == 'cuda|torch-2.13.0+cu126-cuda12.6-arch8.0_9.0|1|8.0;9.0|1'
    assert out[0].startswith('[umt_mm setup] CUDA ops for arch 8.0;9.0')


def test_cli_on_this_machine(python):
    """The venv's torch: a CPU torch plans the CPU key; FORCE_CUDA=1 fails in one line."""
    import os

    import torch
    if torch.version.cuda is not None:
        pytest.skip('a CUDA torch: the CPU plan is not what this machine builds')
    env = {k: v for k, v in os.environ.items()
           if k not in ('FORCE_CUDA', 'UMT_MM_TORCH_CUDA', 'TORCH_CUDA_ARCH_LIST')}
    out = subprocess.run([python, str(SCRIPT), 'plan'], capture_output=True, text=True,
                         env=env, check=True).stdout
    assert out.splitlines()[:2] == ['UMT_MM_BUILD=cpu',
                                    f"UMT_MM_CACHE_KEY=torch-{torch.__version__}"]
    bad = subprocess.run([python, str(SCRIPT), 'plan'], capture_output=True, text=True,
                         env=dict(env, FORCE_CUDA='1'))
    assert bad.returncode == 2 and bad.stdout == ''
    assert bad.stderr.count('\n') == 1 and bad.stderr.startswith('[umt_mm setup] error: ')
    ok = subprocess.run([python, str(SCRIPT), 'verify'], capture_output=True, text=True)
    assert ok.returncode == 0 and 'mmcv CPU ops load' in ok.stdout


def test_setup_script_keeps_the_cpu_key_and_the_stamp_inputs():
    text = (ROOT / 'tools/setup_env.sh').read_text()
    assert 'CACHE=${UMT_MM_WHEEL_CACHE:-$HOME/.cache/umt_mm/wheels}/$UMT_MM_CACHE_KEY' in text
    assert 'tools/misc/cuda_build_env.py plan) || exit 1' in text
    out = subprocess.run(['bash', '-n', str(ROOT / 'tools/setup_env.sh')], capture_output=True)
    assert out.returncode == 0


@pytest.mark.parametrize('tag', ['cu12', 'cuda126', '12.6'])
def test_setup_script_rejects_a_bad_cuda_tag(tag, tmp_path):
    out = subprocess.run(['bash', str(ROOT / 'tools/setup_env.sh')], capture_output=True,
                         text=True, env={'PATH': '/usr/bin:/bin', 'UMT_MM_TORCH_CUDA': tag,
                                         'VENV': str(tmp_path / 'venv'), 'HOME': str(tmp_path)})
    assert out.returncode == 1
    assert out.stdout.strip() == (f'[umt_mm setup] error: UMT_MM_TORCH_CUDA={tag} is not a CUDA '
                                  'tag like cu126 or cu128')


def test_setup_script_rejects_a_missing_wheelhouse(tmp_path):
    out = subprocess.run(['bash', str(ROOT / 'tools/setup_env.sh')], capture_output=True,
                         text=True, env={'PATH': '/usr/bin:/bin', 'HOME': str(tmp_path),
                                         'UMT_MM_WHEELHOUSE': str(tmp_path / 'nope'),
                                         'VENV': str(tmp_path / 'venv')})
    assert out.returncode == 1 and 'is not a folder' in out.stdout
    assert not (tmp_path / 'venv').exists()
