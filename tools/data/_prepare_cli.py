"""Shared command-line plumbing of reencode_videos.py and extract_frames.py: the inputs
(a folder or a video list), parallel workers, a progress line, resumability, a summary."""
from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mkv', '.webm', '.mov', '.m4v', '.flv', '.mpeg', '.mpg')


def load_preparation():
    """``umt_mm/datasets/video_preparation.py`` loaded by path: importing the ``umt_mm``
    package would import MMAction2 in every worker (seconds each)."""
    import importlib.util
    path = Path(__file__).resolve().parents[2] / 'umt_mm' / 'datasets' / 'video_preparation.py'
    spec = importlib.util.spec_from_file_location('umt_mm_video_preparation', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
        files = sorted(p for p in path.rglob('*') if p.suffix.lower() in VIDEO_EXTENSIONS)
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
