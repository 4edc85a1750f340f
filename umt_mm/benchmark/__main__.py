"""``python -m umt_mm.benchmark``: the benchmark's command line (see :mod:`.cli`)."""
from .cli import main

if __name__ == '__main__':
    main()
