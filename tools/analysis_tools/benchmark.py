"""Speed and memory of the UMT models and the data pipelines (see docs/benchmarks.md).

The measurements live in :mod:`umt_mm.benchmark`; this script is its command line, the same
as ``python -m umt_mm.benchmark``. ``--help`` lists the modes (model, ``--detection``,
``--pretrain``, ``--data``, ``--export``, ``--gpu``, ``--inference``) and their flags. Example::

    python tools/analysis_tools/benchmark.py --repeats 5 --json bench.json
"""
from umt_mm.benchmark.cli import main

if __name__ == '__main__':
    main()
