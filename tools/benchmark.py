"""Moved to ``tools/analysis_tools/benchmark.py``; this forwarding script stays for one release.

It says so once on stderr and runs the same command line (``umt_mm.benchmark.cli.main``)
with the same flags.
"""
import sys

from umt_mm.benchmark.cli import main

MOVED_NOTICE = ('tools/benchmark.py has moved to tools/analysis_tools/benchmark.py (the same '
                'flags); this forwarding script will be removed in the next release')

if __name__ == '__main__':
    print(MOVED_NOTICE, file=sys.stderr, flush=True)
    main()
