#!/usr/bin/env python
"""Download everything ``make setup`` installs into one folder, for machines with no network.

On a machine with registry access (run it with a Python 3.11 interpreter, e.g. the venv's)::

    python tools/misc/make_wheelhouse.py wheelhouse/                   # CPU torch
    python tools/misc/make_wheelhouse.py wheelhouse/ --torch cu126     # CUDA 12.6 torch
    python tools/misc/make_wheelhouse.py wheelhouse/ --torch cu126 \
        --mmcv-cache ~/.cache/umt_mm/wheels    # with mmcv wheels built ahead (make setup)

then on the offline machine::

    UMT_MM_WHEELHOUSE=wheelhouse/ make setup                          # CPU
    UMT_MM_WHEELHOUSE=wheelhouse/ UMT_MM_TORCH_CUDA=cu126 make setup  # CUDA

How: (1) ``pip install --dry-run --ignore-installed --report`` resolves the requirements of
each pip command of ``tools/setup_env.sh`` on its own (:func:`bundle_requirements`: the
build requirements ``setuptools>=77,<82``, ``wheel``, ``ninja``; torch; the OpenMMLab stack
with mmcv 2.1.0's runtime requirements and openmim; umt_mm's ``install_requires`` with its
``tests`` / ``deploy`` / ``openvino`` extras); (2) every resolved distribution is downloaded
with ``--no-deps``: as a wheel for the target (``--only-binary=:all: --python-version
--platform``) when the resolution found a wheel, as an sdist otherwise (a few of openmim's
dependencies have none), and mmcv 2.1.0 as its sdist (PyPI has no wheel; ``make setup``
builds it, or takes a wheel from ``<folder>/mmcv/<cache key>/``); (3) the bundle is checked:
``pip install --dry-run --no-index --find-links <folder>`` of each group must resolve
(``--check`` runs only this step on an existing folder).

The resolution runs on this machine's interpreter, so environment markers are evaluated for
it: make bundles for the Python version and OS you run this on (the ``--platform`` tags
choose among manylinux builds of the same OS and architecture).
"""
from __future__ import annotations

import argparse
import configparser
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Sequence

ROOT = Path(__file__).resolve().parents[2]
TORCH = '2.13.0'
MMCV = 'mmcv==2.1.0'
#: mmcv 2.1.0's runtime requirements (its ``requirements/runtime.txt``; ``setup.py`` adds
#: opencv-python when no OpenCV is installed)
MMCV_RUNTIME = ['addict', 'mmengine>=0.3.0', 'numpy', 'packaging', 'Pillow', 'pyyaml', 'yapf',
                'opencv-python>=3']
#: tools/setup_env.sh's pip commands before umt_mm's own (mmcv's wheel goes in with --no-deps;
#: its requirements come with the stack command, which names mmcv)
BUILD_REQUIREMENTS = ['setuptools>=77,<82', 'wheel', 'ninja']
STACK = ['mmengine==0.10.7', 'mmaction2==1.2.0', 'mmdet==3.3.0', 'decord==0.6.0',
         'importlib_metadata', 'numpy', 'safetensors', 'openmim']


def manylinux_platforms(glibc: str = '2.28', arch: str = 'x86_64') -> list[str]:
    """Every platform tag a machine with glibc ``glibc`` runs, newest first.

    pip (23.x) matches ``--platform`` tags exactly, so a bundle for glibc 2.28 must name
    ``manylinux_2_28`` down to ``manylinux1`` (and the legacy aliases) itself.
    """
    major, minor = (int(p) for p in glibc.split('.'))
    if major != 2 or minor < 5:
        raise ValueError(f'glibc must be 2.x with x >= 5, got {glibc!r}')
    tags = [f'manylinux_2_{m}_{arch}' for m in range(minor, 4, -1)]
    aliases = {17: 'manylinux2014', 12: 'manylinux2010', 5: 'manylinux1'}
    tags += [f'{alias}_{arch}' for m, alias in aliases.items() if m <= minor]
    return tags + [f'linux_{arch}']


#: platform tags of a bundle for Linux x86_64 with glibc >= 2.28 (RHEL 8, Ubuntu 20.04 and later)
DEFAULT_PLATFORMS = manylinux_platforms('2.28')

Runner = Callable[[Sequence[str]], None]


def _name(requirement: str) -> str:
    for sep in '<>=!~;[ ':
        requirement = requirement.split(sep)[0]
    return requirement.strip().lower().replace('_', '-')


def bundle_requirements(setup_cfg: Path = ROOT / 'setup.cfg',
                        torch: str = 'cpu') -> list[list[str]]:
    """The requirement groups: one per pip command of ``tools/setup_env.sh``.

    Each group is resolved on its own, as each command is: a bundle holding every group's
    own consistent set lets every command resolve offline, whatever the earlier commands
    installed (the stack command with openmim pins older versions than umt_mm's extras
    resolve to, and openxlab pins setuptools 60, which the script re-pins after).

    Args:
        setup_cfg (Path): umt_mm's ``setup.cfg``. Defaults to the checkout's.
        torch (str): ``'cpu'`` or a CUDA tag like ``'cu126'``: the torch build
            (``torch==2.13.0+<tag>``). Defaults to 'cpu'.

    Returns:
        list[list[str]]: The build requirements; torch; the OpenMMLab stack with openmim
        (mmcv's requirements in place of mmcv, whose sdist is fetched on its own); umt_mm's
        requirements with its ``tests``, ``deploy`` and ``openvino`` extras (mmcv's in place
        of mmcv); the last two with the torch pin.
    """
    parser = configparser.ConfigParser()
    parser.read(setup_cfg)

    def lines(section: str, key: str) -> list[str]:
        text = parser.get(section, key, fallback='')
        return [ln.strip() for ln in text.splitlines()
                if ln.strip() and not ln.strip().startswith('#')]

    def unique(reqs: list[str]) -> list[str]:
        seen, out = set(), []
        for r in reqs:  # the first requirement of a name wins (pins before mmcv's ranges)
            if _name(r) not in seen:
                seen.add(_name(r))
                out.append(r)
        return out
    own = lines('options', 'install_requires')
    for extra in ('tests', 'deploy', 'openvino'):
        own += lines('options.extras_require', extra)
    own = [r for r in own if _name(r) not in ('mmcv', 'torch')]
    # the torch pin in the later groups stands for the installed torch, which satisfies
    # their `torch` requirements (from scratch they would resolve PyPI's newest CUDA torch)
    pin = [f'torch=={TORCH}+{torch}']
    return [list(BUILD_REQUIREMENTS), pin, unique(pin + STACK + MMCV_RUNTIME),
            unique(pin + own + MMCV_RUNTIME)]


def torch_index(torch: str, root: str | None) -> list[str]:
    """pip options that find ``torch==2.13.0+<torch>`` (none when ``root`` is empty)."""
    return ['--extra-index-url', f'{root.rstrip("/")}/{torch}'] if root else []


def resolve_command(python: str, requirements: Sequence[str], report: Path,
                    extra: Sequence[str] = ()) -> list[str]:
    """``pip install --dry-run`` that resolves ``requirements`` into a JSON report."""
    return [python, '-m', 'pip', 'install', '--dry-run', '--ignore-installed', '--quiet',
            '--disable-pip-version-check', '--report', str(report), *extra, *requirements]


def resolved(report: dict) -> list[tuple[str, str, bool]]:
    """``(name, version, is_wheel)`` of each distribution in a pip installation report."""
    out = []
    for item in report.get('install', []):
        meta = item['metadata']
        url = item.get('download_info', {}).get('url', '')
        out.append((meta['name'], meta['version'], url.endswith('.whl')))
    return out


def download_commands(python: str, dists: Sequence[tuple[str, str, bool]], dest: Path,
                      python_version: str = '3.11',
                      platforms: Sequence[str] = DEFAULT_PLATFORMS,
                      extra: Sequence[str] = (), with_mmcv: bool = True) -> list[list[str]]:
    """The ``pip download --no-deps`` commands for one resolution (and mmcv's sdist).

    One resolution per call: pip refuses two versions of a name in one command, and the
    stack and openmim pin different ones (filelock, for one).

    Args:
        python (str): Interpreter running pip.
        dists (Sequence[tuple[str, str, bool]]): From :func:`resolved`.
        dest (Path): The wheelhouse.
        python_version (str): Target Python, ``'3.11'``. Defaults to '3.11'.
        platforms (Sequence[str]): Target wheel platform tags. Defaults to manylinux x86_64.
        extra (Sequence[str]): More pip options (index URLs). Defaults to none.
        with_mmcv (bool): Add mmcv 2.1.0's sdist. Defaults to True.

    Returns:
        list[list[str]]: Wheels for the target (binary only), then sdists (mmcv and the
        distributions the resolution found no wheel for), when there are any.
    """
    pip = [python, '-m', 'pip', 'download', '--no-deps', '--disable-pip-version-check',
           '--quiet', '-d', str(dest), *extra]
    abi = 'cp' + python_version.replace('.', '')
    wheels = sorted({f'{n}=={v}' for n, v, is_wheel in dists if is_wheel})
    sdists = sorted({f'{n}=={v}' for n, v, is_wheel in dists if not is_wheel})
    cmds = []
    if wheels:
        plat = [arg for p in platforms for arg in ('--platform', p)]
        cmds.append(pip + ['--only-binary=:all:', '--python-version', python_version,
                           '--implementation', 'cp', '--abi', abi, '--abi', 'abi3',
                           '--abi', 'none', *plat, *wheels])
    sdists = ([MMCV] if with_mmcv else []) + sdists
    if sdists:
        cmds.append(pip + ['--no-binary=:all:', '--no-build-isolation', *sdists])
    return cmds


def check_command(python: str, folder: Path, requirements: Sequence[str],
                  report: Path | None = None) -> list[str]:
    """``pip install --dry-run --no-index --find-links folder``: does the bundle resolve?"""
    cmd = [python, '-m', 'pip', 'install', '--dry-run', '--ignore-installed', '--no-index',
           '--find-links', str(folder), '--disable-pip-version-check', '--quiet']
    if report is not None:
        cmd += ['--report', str(report)]
    return cmd + list(requirements)


def copy_mmcv_wheels(cache: Path, dest: Path) -> list[Path]:
    """Copy built mmcv wheels ``<cache>/<key>/mmcv-2.1.0-*.whl`` to ``<dest>/mmcv/<key>/``."""
    copied = []
    for wheel in sorted(Path(cache).glob('*/mmcv-2.1.0-*.whl')):
        target = dest / 'mmcv' / wheel.parent.name
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(wheel, target / wheel.name)
        copied.append(target / wheel.name)
    return copied


def _run(cmd: Sequence[str]) -> None:
    result = subprocess.run(list(cmd), capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-15:]
        raise SystemExit('error: `' + ' '.join(cmd[:6]) + ' ...` failed:\n' + '\n'.join(tail))


def check_bundle(folder: Path, groups: Sequence[Sequence[str]], python: str = sys.executable,
                 run: Runner = _run) -> None:
    """Resolve every requirement group from ``folder`` alone; SystemExit naming what lacks."""
    for group in groups:
        run(check_command(python, folder, list(group)))
    if not list(Path(folder).glob('mmcv-2.1.0.tar.gz')) and \
            not list(Path(folder).glob('mmcv/*/mmcv-2.1.0-*.whl')):
        raise SystemExit(f'error: {folder} has neither mmcv-2.1.0.tar.gz nor a built '
                         'mmcv wheel under mmcv/<cache key>/')


def make_wheelhouse(dest: Path, torch: str = 'cpu', python_version: str = '3.11',
                    platforms: Sequence[str] = DEFAULT_PLATFORMS,
                    torch_index_root: str | None = 'https://download.pytorch.org/whl',
                    mmcv_cache: Path | None = None, python: str = sys.executable,
                    run: Runner = _run) -> None:
    """Resolve, download and check a wheelhouse (see the module docstring).

    Args:
        dest (Path): Output folder (created).
        torch (str): ``'cpu'`` or a CUDA tag like ``'cu126'``. Defaults to 'cpu'.
        python_version (str): Target Python. Defaults to '3.11'.
        platforms (Sequence[str]): Target platform tags. Defaults to manylinux x86_64.
        torch_index_root (str, optional): Index root of the torch builds (``<root>/<torch>``);
            None or empty: torch from the configured indexes. Defaults to download.pytorch.org.
        mmcv_cache (Path, optional): umt_mm's wheel cache to copy built mmcv wheels from.
            Defaults to None.
        python (str): Interpreter running pip; must be ``python_version``. Defaults to this.
        run (Runner): Runs a command, raising on failure. Defaults to a subprocess.
    """
    if run is _run:
        probe = subprocess.run([python, '-c', 'import sys; print("%d.%d" % sys.version_info[:2])'],
                               capture_output=True, text=True, check=True).stdout.strip()
        if probe != python_version:
            raise SystemExit(f'error: {python} is Python {probe}; the resolution needs Python '
                             f'{python_version} (run this script with that interpreter)')
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    extra = torch_index(torch, torch_index_root)
    groups = bundle_requirements(torch=torch)
    dists: list[tuple[str, str, bool]] = []
    for i, group in enumerate(groups):
        report = dest / f'resolution-{i}.json'
        run(resolve_command(python, group, report, extra))
        found = resolved(json.loads(report.read_text()))
        for cmd in download_commands(python, found, dest, python_version, platforms, extra,
                                     with_mmcv=i == 0):
            run(cmd)
        dists += found
    if mmcv_cache is not None:
        for wheel in copy_mmcv_wheels(Path(mmcv_cache), dest):
            print(f'built mmcv wheel: {wheel.relative_to(dest)}')
    check_bundle(dest, groups, python, run)
    (dest / 'requirements.json').write_text(json.dumps(
        {'torch': torch, 'python': python_version, 'groups': groups}, indent=1))
    print(f'wheelhouse {dest}: {len(dists)} distributions + mmcv sdist; install with '
          f'UMT_MM_WHEELHOUSE={dest}' + (f' UMT_MM_TORCH_CUDA={torch}' if torch != 'cpu' else '')
          + ' make setup')


def main(argv: Sequence[str] | None = None) -> None:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('dest', type=Path, help='wheelhouse folder (created)')
    parser.add_argument('--torch', default='cpu', help="'cpu' or a CUDA tag like cu126")
    parser.add_argument('--python-version', default='3.11')
    parser.add_argument('--glibc', default='2.28',
                        help='oldest glibc of the target machines (default 2.28): the '
                        'manylinux tags it runs')
    parser.add_argument('--platform', action='append', dest='platforms',
                        help='instead of --glibc: wheel platform tags (repeatable)')
    parser.add_argument('--torch-index-url', default='https://download.pytorch.org/whl',
                        help="root of the torch indexes (<root>/<torch>); '' for the "
                        'configured indexes only')
    parser.add_argument('--mmcv-cache', type=Path,
                        help='copy mmcv wheels built by make setup from this wheel cache')
    parser.add_argument('--check', action='store_true',
                        help='only check that an existing folder resolves offline')
    args = parser.parse_args(argv)
    if args.torch != 'cpu' and not (args.torch.startswith('cu') and args.torch[2:].isdigit()):
        parser.error(f"--torch must be 'cpu' or a CUDA tag like cu126, got {args.torch!r}")
    if args.check:
        groups = json.loads((args.dest / 'requirements.json').read_text())['groups'] \
            if (args.dest / 'requirements.json').exists() else bundle_requirements(torch=args.torch)
        check_bundle(args.dest, groups)
        print(f'{args.dest}: every requirement resolves offline')
        return
    make_wheelhouse(args.dest, args.torch, args.python_version,
                    args.platforms or manylinux_platforms(args.glibc), args.torch_index_url or None,
                    args.mmcv_cache)


if __name__ == '__main__':
    main()
