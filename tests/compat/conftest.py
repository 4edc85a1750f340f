"""Run Python in a fresh process with some of ``import umt_mm``'s patches switched off."""
import os
import subprocess
import sys

import pytest


@pytest.fixture
def run_python():
    """``run_python(code, disable='name,...')``: the finished process (text output)."""

    def run(code: str, disable: str = '', timeout: float = 240) -> subprocess.CompletedProcess:
        env = dict(os.environ)
        env.pop('UMT_MM_NO_CHECKPOINT_FIX', None)
        env['UMT_MM_DISABLE_FIXES'] = disable
        return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                              env=env, timeout=timeout)

    return run
