"""``python -m umt_mm.diagnostics``: the GPU check (see :mod:`umt_mm.diagnostics.gpu_check`)."""
import sys

from .gpu_check import main

sys.exit(main())
