"""The composition root caps the native (BLAS) thread pools at start-up, from the settings."""

import subprocess
import sys

import pytest

from bot.native_threads import limit_native_threads


def test_limit_rejects_zero_threads():
    with pytest.raises(ValueError):
        limit_native_threads(0)


def test_cli_start_limits_blas_to_the_configured_threads(tmp_path):
    # a fresh process: the limit is set by app.cli.main (not by importing anything), so BLAS starts unlimited
    code = (
        "import os, sys\n"
        "from app import cli\n"
        "from bot.native_threads import native_threads\n"
        "before = native_threads().get('blas')\n"
        "cli.build_parser = lambda: type('P', (), {'parse_args': lambda self, a: type('A', (), {'func': staticmethod(lambda a, s: 0)})()})()\n"
        "cli.main([])\n"
        "print(before, native_threads().get('blas'))\n"
    )
    env = {"CIVICBOT_NATIVE_THREADS": "1", "OPENBLAS_NUM_THREADS": "2", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=True)
    before, after = out.stdout.split()
    assert (before, after) == ("2", "1")
