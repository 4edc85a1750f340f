"""Memory of this process and measurements in fresh child processes.

A fresh process per measured variant: the allocator keeps freed memory, so the peak of one
variant would hide the other's in a shared process.
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys


def rss_bytes() -> int:
    """Current resident set size of this process.

    Returns:
        int: Bytes.
    """
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def peak_rss_bytes() -> int:
    """``VmHWM``: the high-water mark of this process's own resident memory.

    (getrusage's ``ru_maxrss`` would carry the parent's peak across fork + exec.)

    Returns:
        int: Bytes.
    """
    with open('/proc/self/status') as f:
        return next(int(line.split()[1]) for line in f if line.startswith('VmHWM:')) * 1024


def child_json(*flags: str) -> dict:
    """Run ``python -m umt_mm.benchmark *flags`` in a fresh process; return its last JSON line.

    Args:
        *flags (str): Command-line flags of the benchmark (a ``--child-*`` mode).

    Returns:
        dict: The child's result.

    Raises:
        RuntimeError: When the child fails (its stderr's end is in the message).
    """
    command = [sys.executable, '-m', 'umt_mm.benchmark', *flags]
    child = subprocess.run(command, capture_output=True, text=True)
    if child.returncode != 0:
        raise RuntimeError(f'{" ".join(command)} exited with {child.returncode}:\n'
                           f'{child.stderr[-3000:]}')
    return json.loads(child.stdout.strip().splitlines()[-1])
