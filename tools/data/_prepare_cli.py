"""Shared command-line plumbing of reencode_videos.py and extract_frames.py: the inputs
(a folder or a video list), parallel workers, a progress line, resumability, a summary."""
from __future__ import annotations

import argparse
import functools
import multiprocessing as mp
import sys
import time
from collections.abc import Callable
from pathlib import Path


def load_preparation():
    """``umt_mm/datasets/video_preparation.py`` loaded by path: importing the ``umt_mm``
    package would import MMAction2 in every worker (seconds each)."""
    import importlib.util
    path = Path(__file__).resolve().parents[2] / 'umt_mm' / 'datasets' / 'video_preparation.py'
    spec = importlib.util.spec_from_file_location('umt_mm_video_preparation', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_parser(description: str) -> argparse.ArgumentParser:
    """The tool's parser (``description``: its module docstring) with the common arguments."""
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser)
    return parser


def add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('src', help='a folder of videos (searched recursively) or a video '
                        'list (`path label` / `path,label` / `path` lines, paths relative to '
                        '--root)')
    parser.add_argument('out', help='output folder (mirrors the relative paths)')
    parser.add_argument('--root', default=None, help='folder the list paths are relative to '
                        '(default: the list file\'s folder)')
    parser.add_argument('--workers', type=int, default=max(1, mp.cpu_count() - 1),
                        help='parallel processes (default: cores - 1)')
    parser.add_argument('--short-side', type=int, default=None)


def read_inputs(src: str, root: str | None) -> tuple[Path, list[tuple[str, str | None]]]:
    """``(root, [(relative path, rest of the list line or None)])``."""
    path = Path(src)
    if path.is_dir():
        extensions = load_preparation().VIDEO_EXTENSIONS
        files = sorted(p for p in path.rglob('*') if p.suffix.lower() in extensions)
        return path, [(p.relative_to(path).as_posix(), None) for p in files]
    if not path.is_file():
        raise SystemExit(f'{src}: neither a folder nor a list file')
    base = Path(root) if root else path.parent
    items = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line:
            continue
        sep = ',' if ',' in line and ' ' not in line.split(',')[0] else None
        parts = line.split(sep, 1) if sep else line.split(None, 1)
        items.append((parts[0], parts[1] if len(parts) > 1 else None))
    return base, items


def convert_one(rel: str, dst: Path, convert: Callable[[Path], dict],
                done: Callable[[Path], dict | None] | None = None, **extra) -> dict:
    """One file's job: skip it when a previous run completed it, else convert it.

    Args:
        rel (str): The file's relative path (``path`` of the result).
        dst (Path): Its output (a file or a folder, written by ``convert``).
        convert (Callable): ``convert(dst) -> info`` writes ``dst``; its info goes into the
            result.
        done (Callable, optional): ``done(dst)``: the info of a completed ``dst``, None when
            it is not complete. Defaults to None (complete when ``dst`` exists).
        **extra: Added to the results of converted and skipped files.

    Returns:
        dict: ``status`` ``'skipped'``, ``'done'`` (with the info) or ``'failed'`` (with
        ``error``: a failing file is reported and the run goes on) and ``path``.
    """
    found = done(dst) if done else ({} if dst.exists() else None)
    if found is not None:
        return dict(status='skipped', path=rel, **extra, **found)
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        info = convert(dst)
    except Exception as err:  # noqa: BLE001 (reported per file, the run goes on)
        return dict(status='failed', path=rel, error=str(err))
    return dict(status='done', path=rel, **extra, **info)


def run_parallel(job, tasks: list, workers: int, what: str) -> list:
    """Run ``job(task) -> dict`` over ``tasks`` with a progress line on stderr."""
    results, start = [], time.time()
    pool = mp.get_context('fork').Pool(workers) if workers > 1 else None
    iterator = pool.imap_unordered(job, tasks) if pool else map(job, tasks)
    try:
        for done, result in enumerate(iterator, 1):
            results.append(result)
            rate = done / max(time.time() - start, 1e-9)
            eta = (len(tasks) - done) / rate if rate else 0
            bar = '#' * int(30 * done / len(tasks))
            print(f'\r[{bar:<30}] {done}/{len(tasks)} {what}, {rate:.2f}/s, eta {eta:.0f} s',
                  end='', file=sys.stderr, flush=True)
    finally:
        if pool:
            pool.close()
            pool.join()
    print(file=sys.stderr)
    return results


def check_outputs_unique(items: list, output_of: Callable[[str], Path], src: str) -> None:
    """Refuse inputs that would write the same output (``a.mp4`` and ``a.avi`` both -> ``a/``).

    Without this check the second video's job fails or, on a rerun, is skipped as done with
    the first video's output: silently wrong data for it.

    Raises:
        SystemExit: Naming the inputs that collide and their shared output.
    """
    seen: dict[Path, str] = {}
    clashes = []
    for rel, _ in items:
        dst = output_of(rel)
        if dst in seen:
            clashes.append(f'{seen[dst]} and {rel} -> {dst}')
        else:
            seen[dst] = rel
    if clashes:
        raise SystemExit(f'{src}: {len(clashes)} outputs would be written by two videos '
                         '(same path without extension); rename or list them apart: '
                         + '; '.join(clashes[:10]) + (' ...' if len(clashes) > 10 else ''))


def run_jobs(job, args: argparse.Namespace, options: dict,
             output_of: Callable[[str], Path] | None = None) -> tuple[list, list]:
    """Run ``job(task, root, out, options)`` over every input video of ``args`` (the common
    arguments) with ``args.workers`` processes.

    Args:
        job (Callable): The per-video job.
        args (argparse.Namespace): The common arguments (``src``, ``root``, ``out``,
            ``workers``).
        options (dict): Passed to every job.
        output_of (Callable, optional): A video's output path relative to ``args.out``;
            when given, two videos with the same output stop the run before any work.
            Defaults to None.

    Returns:
        tuple[list, list]: The tasks (``(relative path, rest of the list line)``) in input
        order and their results (in completion order).
    """
    root, items = read_inputs(args.src, args.root)
    if output_of is not None:
        check_outputs_unique(items, output_of, args.src)
    job = functools.partial(job, root=root, out=Path(args.out), options=options)
    return items, run_parallel(job, items, args.workers, 'videos')


def summarize(results: list, what: str) -> int:
    """Print the counts and sizes; return the exit status (1 when something failed)."""
    done = [r for r in results if r['status'] == 'done']
    skipped = [r for r in results if r['status'] == 'skipped']
    failed = [r for r in results if r['status'] == 'failed']
    src = sum(r.get('src_bytes', 0) for r in done)
    dst = sum(r.get('dst_bytes', 0) for r in done)
    print(f'{what}: {len(done)} done, {len(skipped)} already done (skipped), '
          f'{len(failed)} failed')
    if done:
        print(f'size: {src / 2**20:.1f} MiB -> {dst / 2**20:.1f} MiB ({dst / max(src, 1):.2f}x)')
    for r in failed:
        print(f'FAILED {r["error"]}', file=sys.stderr)
    return 1 if failed else 0
