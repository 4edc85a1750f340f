#!/usr/bin/env python
"""How ``make setup`` builds mmcv 2.1.0: CPU ops, or CUDA ops for the torch in the venv.

A standalone script (standard library only at import; torch and mmcv are imported inside
the commands that need them) so that ``tools/setup_env.sh`` can run it before umt_mm is
installed, and the tests can load it by path. Commands::

    python tools/misc/cuda_build_env.py plan        # shell lines: the build kind, the wheel
                                                    # cache key, the build variables
    python tools/misc/cuda_build_env.py patch-mmcv SETUP_PY   # the C++ standard fix
    python tools/misc/cuda_build_env.py verify      # after the install: the ops load and,
                                                    # with a GPU, RoIAlign runs on CUDA

Decisions (each a function below, tested with injected probes):

* **CUDA or CPU ops**: CUDA when the venv's torch is a CUDA build *and* CUDA was asked for
  (``FORCE_CUDA=1`` or ``UMT_MM_TORCH_CUDA``) or a GPU is visible. A CUDA torch on a machine
  without a GPU and without the request gets the CPU ops, as mmcv's own ``setup.py`` does.
* **Arch list** (``TORCH_CUDA_ARCH_LIST``): the user's value, validated; otherwise the
  compute capabilities of the visible GPUs, clamped to the newest architecture the torch
  build supports (what torch's ``cpp_extension._get_cuda_arch_flags`` does, without its
  ``IndexError`` when no GPU is visible: here that is a one-line error asking for the
  variable).
* **Cache key** of the built wheel: ``torch-<torch version>`` for CPU ops (unchanged, so
  existing caches stay valid), ``torch-<torch version>-cuda<torch's CUDA>-arch<list>`` for
  CUDA ops.
* **Requirements** for CUDA ops, each failure one line: ``CUDA_HOME`` (or ``CUDA_PATH``, or
  the folder above ``nvcc`` on ``PATH``, or ``/usr/local/cuda``), ``nvcc`` in it, nvcc's CUDA
  major version equal to torch's, a host compiler nvcc accepts (:data:`MAX_GCC_FOR_CUDA`).
* **C++ standard**: mmcv 2.1.0's ``setup.py`` passes ``-std=c++17`` to nvcc and the host
  compiler; torch 2.13's headers need C++20 (g++ accepts them in C++17 mode with
  extensions, nvcc does not), so for CUDA builds against torch >= 2.13 the sdist's
  ``setup.py`` is patched to ``-std=c++20`` (:func:`patch_mmcv_setup`).
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

#: newest gcc major version each CUDA release's nvcc accepts (``include/crt/host_config.h``
#: of the CUDA toolkits; the same bounds as torch's ``cpp_extension.CUDA_GCC_VERSIONS``,
#: which lists exclusive upper bounds). CUDA releases newer than the table are not checked.
MAX_GCC_FOR_CUDA: dict[tuple[int, int], int] = {
    (11, 0): 9,
    (11, 1): 10, (11, 2): 10, (11, 3): 10,
    (11, 4): 11, (11, 5): 11, (11, 6): 11, (11, 7): 11, (11, 8): 11,
    (12, 0): 12, (12, 1): 12, (12, 2): 12,
    (12, 3): 13, (12, 4): 13, (12, 5): 13, (12, 6): 13, (12, 7): 13,
    (12, 8): 14, (12, 9): 14,
    (13, 0): 15,
}

#: architecture names torch's ``TORCH_CUDA_ARCH_LIST`` accepts, as capability lists
NAMED_ARCHES: dict[str, str] = {
    'Volta': '7.0', 'Turing': '7.5', 'Ampere': '8.0;8.6', 'Ada': '8.9', 'Hopper': '9.0',
    'Blackwell': '10.0;12.0',
}

_ARCH = re.compile(r'^(\d+)\.(\d+)(a?)(\+PTX)?$')

#: torch release from which the headers need C++20 (and the nvcc flag must say so)
CXX20_TORCH = (2, 13)


class RequirementError(RuntimeError):
    """A missing build requirement; the message is one line saying which and what to do."""


@dataclass
class TorchInfo:
    """What the build needs to know about the venv's torch.

    Args:
        version (str): ``torch.__version__``, e.g. ``'2.13.0+cu126'``.
        cuda (str, optional): ``torch.version.cuda``, None for a CPU build. Defaults to None.
        capabilities (list[tuple[int, int]]): Compute capability of each visible GPU.
            Defaults to none.
        arch_list (list[str]): ``torch.cuda.get_arch_list()``, e.g. ``['sm_80', 'sm_90']``.
            Defaults to empty.
    """
    version: str
    cuda: str | None = None
    capabilities: list[tuple[int, int]] = field(default_factory=list)
    arch_list: list[str] = field(default_factory=list)


@dataclass
class BuildPlan:
    """How to build (or which cached wheel to reuse).

    Args:
        kind (str): ``'cpu'`` or ``'cuda'``.
        cache_key (str): Folder name of the wheel in the cache.
        env (dict[str, str]): Variables to export for the build. Defaults to none.
        patch_std (bool): Patch mmcv's ``setup.py`` to C++20. Defaults to False.
        notes (list[str]): Lines to show the user. Defaults to none.
    """
    kind: str
    cache_key: str
    env: dict[str, str] = field(default_factory=dict)
    patch_std: bool = False
    notes: list[str] = field(default_factory=list)

    def shell(self) -> str:
        """The plan as lines for ``eval`` in bash."""
        lines = [f'UMT_MM_BUILD={self.kind}',
                 f'UMT_MM_CACHE_KEY={shlex.quote(self.cache_key)}',
                 f'UMT_MM_PATCH_STD={int(self.patch_std)}']
        lines += [f'export {k}={shlex.quote(v)}' for k, v in self.env.items()]
        lines += [f'echo {shlex.quote("[umt_mm setup] " + n)}' for n in self.notes]
        return '\n'.join(lines) + '\n'


def version_tuple(text: str) -> tuple[int, ...]:
    """The leading numeric components of a version string (``'2.13.0+cu126'`` -> (2, 13, 0))."""
    nums = re.match(r'^(\d+(?:\.\d+)*)', text.strip())
    if not nums:
        raise ValueError(f'not a version: {text!r}')
    return tuple(int(p) for p in nums.group(1).split('.'))


def parse_nvcc_version(output: str) -> tuple[int, int]:
    """The CUDA release in ``nvcc --version`` output (``'... release 12.6, V12.6.77'``)."""
    found = re.search(r'release (\d+)\.(\d+)', output)
    if not found:
        raise RequirementError(f'cannot read the CUDA release from `nvcc --version`: '
                               f'{output.strip()[-120:]!r}')
    return int(found.group(1)), int(found.group(2))


def max_gcc_for_cuda(cuda: tuple[int, int]) -> int | None:
    """The newest gcc major version nvcc of CUDA ``cuda`` accepts; None when not tabled."""
    return MAX_GCC_FOR_CUDA.get(tuple(cuda[:2]))


def normalize_arch_list(value: str) -> str:
    """A ``TORCH_CUDA_ARCH_LIST`` value checked and written as ``'8.0;9.0'``.

    Args:
        value (str): Capabilities (``'8.0 9.0+PTX'``, ``'8.0;8.6'``, ``'9.0a'``) or names
            (``'Hopper'``), separated by spaces, commas or semicolons.

    Returns:
        str: The entries in capability order, duplicates dropped, ``;``-separated.

    Raises:
        RequirementError: An entry is neither a capability nor a known name.
    """
    entries: list[str] = []
    for item in re.split(r'[;,\s]+', value.strip()):
        if not item:
            continue
        name = item.replace('+PTX', '')
        expanded = NAMED_ARCHES.get(name)
        items = expanded.split(';') if expanded else [item]
        if expanded and item.endswith('+PTX'):
            items[-1] += '+PTX'
        for entry in items:
            if not _ARCH.match(entry):
                raise RequirementError(
                    f'TORCH_CUDA_ARCH_LIST entry {entry!r} is not a compute capability like '
                    f"'8.0', '9.0+PTX' or a name in {sorted(NAMED_ARCHES)}")
            if entry not in entries:
                entries.append(entry)
    if not entries:
        raise RequirementError('TORCH_CUDA_ARCH_LIST is empty: set it to the GPUs\' compute '
                               "capabilities, e.g. '9.0' (H100) or '8.0' (A100)")

    def order(entry: str) -> tuple:
        major, minor, suffix, ptx = _ARCH.match(entry).groups()
        return int(major), int(minor), suffix, bool(ptx)
    return ';'.join(sorted(entries, key=order))


def arch_list_from_capabilities(capabilities: Sequence[tuple[int, int]],
                                torch_arch_list: Sequence[str] = ()) -> str:
    """The arch list for the visible GPUs, clamped to what the torch build supports.

    Args:
        capabilities (Sequence[tuple[int, int]]): ``torch.cuda.get_device_capability(i)`` of
            each visible GPU.
        torch_arch_list (Sequence[str]): ``torch.cuda.get_arch_list()`` (``'sm_90'``...);
            a capability newer than its newest ``sm_`` entry is built for that entry (torch's
            own rule: nvcc is expected to match torch's CUDA). Defaults to no clamping.

    Returns:
        str: E.g. ``'8.0;9.0'``.

    Raises:
        RequirementError: No GPU is visible (the build cannot guess the architecture).
    """
    if not capabilities:
        raise RequirementError(
            'no GPU is visible to torch, so the CUDA architecture cannot be detected: set '
            "TORCH_CUDA_ARCH_LIST to the target GPUs' compute capability, e.g. '9.0' (H100) "
            "or '8.0' (A100)")
    supported = [int(m.group(1)) for m in (re.match(r'sm_(\d+)', a) for a in torch_arch_list)
                 if m]
    newest = max(((s // 10, s % 10) for s in supported), default=None)
    arches = []
    for cap in capabilities:
        cap = (int(cap[0]), int(cap[1]))
        if newest is not None and cap > newest:
            cap = newest
        arches.append(f'{cap[0]}.{cap[1]}')
    return normalize_arch_list(';'.join(arches))


def cache_key(torch_version: str, cuda: str | None = None,
              arch_list: str | None = None) -> str:
    """The wheel cache folder name of an mmcv build.

    Args:
        torch_version (str): ``torch.__version__``.
        cuda (str, optional): torch's CUDA version for a build with CUDA ops; None for CPU
            ops. Defaults to None.
        arch_list (str, optional): The normalized ``TORCH_CUDA_ARCH_LIST`` of a CUDA build.
            Defaults to None.

    Returns:
        str: ``torch-<version>`` for CPU ops (the key caches were written with before CUDA
        builds existed), ``torch-<version>-cuda<cuda>-arch<a_b>`` for CUDA ops.
    """
    if cuda is None:
        return f'torch-{torch_version}'
    if not arch_list:
        raise ValueError('a CUDA build needs its arch list in the cache key')
    return f'torch-{torch_version}-cuda{cuda}-arch{arch_list.replace(";", "_")}'


def find_cuda_home(env: Mapping[str, str], which: Callable[[str], str | None],
                   exists: Callable[[str], bool]) -> str:
    """The CUDA toolkit folder, found as torch's ``cpp_extension`` finds it.

    Args:
        env (Mapping[str, str]): Environment variables.
        which (Callable): ``shutil.which``.
        exists (Callable): ``os.path.exists``.

    Returns:
        str: ``CUDA_HOME`` / ``CUDA_PATH``, else the folder above ``nvcc`` on ``PATH``, else
        ``/usr/local/cuda``.

    Raises:
        RequirementError: None of them exists, or the chosen one has no ``bin/nvcc``.
    """
    home = env.get('CUDA_HOME') or env.get('CUDA_PATH')
    source = 'CUDA_HOME' if env.get('CUDA_HOME') else 'CUDA_PATH'
    if not home:
        nvcc = which('nvcc')
        if nvcc:
            home, source = os.path.dirname(os.path.dirname(nvcc)), 'nvcc on PATH'
        elif exists('/usr/local/cuda'):
            home, source = '/usr/local/cuda', 'the default'
        else:
            raise RequirementError(
                'CUDA toolkit not found (no CUDA_HOME, no nvcc on PATH, no /usr/local/cuda): '
                "install the CUDA toolkit matching torch's CUDA and set CUDA_HOME")
    if not exists(os.path.join(home, 'bin', 'nvcc')):
        raise RequirementError(f'nvcc not found at {home}/bin/nvcc (CUDA_HOME from {source}): '
                               'install the CUDA toolkit there or point CUDA_HOME at it')
    return home


def check_host_compiler(cuda: tuple[int, int], env: Mapping[str, str],
                        which: Callable[[str], str | None],
                        run: Callable[[Sequence[str]], str]) -> str:
    """Check that nvcc accepts the host compiler; return a note about it.

    The compiler is ``NVCC_CCBIN``, else ``CC`` (torch passes it to nvcc as ``-ccbin``), else
    ``gcc``, nvcc's default.

    Raises:
        RequirementError: The compiler is missing or newer than the CUDA release accepts.
    """
    compiler = env.get('NVCC_CCBIN') or env.get('CC') or 'gcc'
    if not which(compiler):
        raise RequirementError(f'host compiler {compiler!r} not found: install gcc (and g++) '
                               f'<= {max_gcc_for_cuda(cuda) or "the newest"} or set CC')
    banner = run([compiler, '--version']).splitlines()[:1]
    if banner and 'clang' in banner[0].lower():
        return f'host compiler {compiler} is clang: version not checked against CUDA'
    version = version_tuple(run([compiler, '-dumpfullversion', '-dumpversion']))
    limit = max_gcc_for_cuda(cuda)
    cuda_text = f'{cuda[0]}.{cuda[1]}'
    if limit is None:
        return f'gcc {version[0]} with CUDA {cuda_text}: no known limit, not checked'
    if version[0] > limit:
        raise RequirementError(
            f'{compiler} {".".join(map(str, version))} is too new for CUDA {cuda_text} (nvcc '
            f'accepts gcc <= {limit}): install gcc-{limit} g++-{limit} and export '
            f'CC=gcc-{limit} CXX=g++-{limit}')
    return f'host compiler {compiler} {".".join(map(str, version))} (CUDA {cuda_text}: <= {limit})'


def make_plan(torch: TorchInfo, env: Mapping[str, str],
              which: Callable[[str], str | None] = shutil.which,
              exists: Callable[[str], bool] = os.path.exists,
              run: Callable[[Sequence[str]], str] | None = None) -> BuildPlan:
    """Decide how to build mmcv for the venv's torch (see the module docstring).

    Args:
        torch (TorchInfo): The venv's torch.
        env (Mapping[str, str]): Environment variables (``FORCE_CUDA``,
            ``UMT_MM_TORCH_CUDA``, ``TORCH_CUDA_ARCH_LIST``, ``CUDA_HOME``, ``CC``...).
        which (Callable): Finds an executable. Defaults to ``shutil.which``.
        exists (Callable): Whether a path exists. Defaults to ``os.path.exists``.
        run (Callable, optional): Runs a command, returns its output. Defaults to
            :func:`_run`.

    Returns:
        BuildPlan: The build.

    Raises:
        RequirementError: A requirement of the CUDA build is missing.
    """
    run = run or _run
    asked = env.get('FORCE_CUDA') == '1' or bool(env.get('UMT_MM_TORCH_CUDA'))
    if torch.cuda is None:
        if asked:
            raise RequirementError(
                f'CUDA ops were asked for (FORCE_CUDA=1 or UMT_MM_TORCH_CUDA) but torch '
                f'{torch.version} in the venv is a CPU build: set UMT_MM_TORCH_CUDA=cu126 '
                '(the CUDA of your driver) to install a CUDA torch')
        return BuildPlan('cpu', cache_key(torch.version))
    if not asked and not torch.capabilities:
        return BuildPlan('cpu', cache_key(torch.version), notes=[
            f'torch {torch.version} is a CUDA build but no GPU is visible: building the CPU '
            'ops (export FORCE_CUDA=1 with TORCH_CUDA_ARCH_LIST to build the CUDA ops)'])
    user_arch = env.get('TORCH_CUDA_ARCH_LIST', '').strip()
    if user_arch and user_arch != 'native':
        arch = normalize_arch_list(user_arch)
    else:
        arch = arch_list_from_capabilities(torch.capabilities, torch.arch_list)
    home = find_cuda_home(env, which, exists)
    nvcc_cuda = parse_nvcc_version(run([os.path.join(home, 'bin', 'nvcc'), '--version']))
    torch_cuda = version_tuple(torch.cuda)[:2]
    if nvcc_cuda[0] != torch_cuda[0]:
        raise RequirementError(
            f'nvcc in {home} is CUDA {nvcc_cuda[0]}.{nvcc_cuda[1]} but torch {torch.version} '
            f'was built with CUDA {torch.cuda}: install the CUDA {torch_cuda[0]}.x toolkit '
            'and point CUDA_HOME at it (or a torch for your toolkit with UMT_MM_TORCH_CUDA)')
    compiler_note = check_host_compiler(nvcc_cuda, env, which, run)
    plan = BuildPlan('cuda', cache_key(torch.version, torch.cuda, arch),
                     env={'FORCE_CUDA': '1', 'MMCV_WITH_OPS': '1', 'CUDA_HOME': home,
                          'TORCH_CUDA_ARCH_LIST': arch},
                     patch_std=version_tuple(torch.version)[:2] >= CXX20_TORCH)
    plan.notes.append(f'CUDA ops for arch {arch} with nvcc {nvcc_cuda[0]}.{nvcc_cuda[1]} '
                      f'from {home}; {compiler_note}')
    return plan


_STD_PATCHES = (
    ("extra_compile_args['cxx'] = ['-std=c++17']", "extra_compile_args['cxx'] = ['-std=c++20']"),
    ("extra_compile_args['nvcc'] += ['-std=c++17']",
     "extra_compile_args['nvcc'] += ['-std=c++20']"),
)


def patch_mmcv_setup(text: str) -> str:
    """mmcv 2.1.0's ``setup.py`` with C++20 instead of C++17 for the host compiler and nvcc.

    Raises:
        RequirementError: The file does not have mmcv 2.1.0's flags (another mmcv version).
    """
    for old, new in _STD_PATCHES:
        if text.count(old) != 1:
            raise RequirementError(f'mmcv setup.py has no single `{old}`: not mmcv 2.1.0\'s '
                                   'setup.py, the C++ standard patch does not apply')
        text = text.replace(old, new)
    return text


def _run(cmd: Sequence[str]) -> str:
    return subprocess.run(list(cmd), capture_output=True, text=True, check=True).stdout


def torch_info() -> TorchInfo:
    """Describe the torch of the running interpreter."""
    import torch
    info = TorchInfo(torch.__version__, torch.version.cuda)
    if info.cuda is not None and torch.cuda.is_available():
        info.capabilities = [torch.cuda.get_device_capability(i)
                             for i in range(torch.cuda.device_count())]
        info.arch_list = list(torch.cuda.get_arch_list())
    return info


def verify_ops(kind: str) -> str:
    """Check the installed mmcv ops; with CUDA ops and a GPU, RoIAlign on CUDA against CPU.

    Args:
        kind (str): ``'cpu'`` or ``'cuda'`` (the plan's kind).

    Returns:
        str: What was checked.

    Raises:
        RequirementError: The ops do not load, were built without CUDA, or disagree.
    """
    import torch
    try:
        from mmcv.ops import RoIAlign, get_compiling_cuda_version
    except Exception as exc:  # noqa: BLE001 - any import failure is the message
        raise RequirementError(f'mmcv ops do not load: {type(exc).__name__}: {exc}') from exc
    feats = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8) / 100
    rois = torch.tensor([[0, 1.0, 1.0, 6.0, 5.0], [1, 0.5, 2.0, 7.5, 7.0]])
    op = RoIAlign((2, 2), 1.0, 2)
    cpu = op(feats, rois)
    if kind != 'cuda':
        return f'mmcv CPU ops load (RoIAlign {tuple(cpu.shape)})'
    compiled = get_compiling_cuda_version()
    if compiled in ('not available', '', None):
        raise RequirementError('the installed mmcv was built without CUDA ops: delete the '
                               'cached wheel and rerun make setup with FORCE_CUDA=1')
    if not torch.cuda.is_available():
        return f'mmcv built with CUDA {compiled}; not run: no GPU visible'
    try:
        gpu = op(feats.cuda(), rois.cuda()).cpu()
    except Exception as exc:  # noqa: BLE001
        raise RequirementError(f'RoIAlign fails on CUDA (CUDA {compiled}, arch '
                               f'{os.environ.get("TORCH_CUDA_ARCH_LIST", "?")}): '
                               f'{type(exc).__name__}: {str(exc).splitlines()[0]}') from exc
    err = (gpu - cpu).abs().max().item()
    if not err <= 1e-5:
        raise RequirementError(f'RoIAlign on CUDA differs from CPU by {err:.3g}')
    return f'mmcv CUDA ops work (CUDA {compiled}; RoIAlign CUDA vs CPU max diff {err:.1e})'


def main(argv: Sequence[str] | None = None) -> int:
    """Command line (see the module docstring); errors print one line and return 2."""
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='cmd', required=True)
    sub.add_parser('plan', help='print the build plan as shell lines')
    patch = sub.add_parser('patch-mmcv', help="switch mmcv's setup.py to C++20 in place")
    patch.add_argument('setup_py')
    verify = sub.add_parser('verify', help='check the installed mmcv ops')
    verify.add_argument('--kind', choices=('cpu', 'cuda'), default='cpu')
    args = parser.parse_args(argv)
    try:
        if args.cmd == 'plan':
            sys.stdout.write(make_plan(torch_info(), os.environ).shell())
        elif args.cmd == 'patch-mmcv':
            with open(args.setup_py, encoding='utf-8') as f:
                text = patch_mmcv_setup(f.read())
            with open(args.setup_py, 'w', encoding='utf-8') as f:
                f.write(text)
        else:
            print(f'[umt_mm setup] ok: {verify_ops(args.kind)}')
    except RequirementError as exc:
        print(f'[umt_mm setup] error: {exc}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
