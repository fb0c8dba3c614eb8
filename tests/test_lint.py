"""Style is part of the suite: ruff clean everywhere, mypy clean on the package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_check_is_clean() -> None:
    proc = _run("ruff", "check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format_is_clean() -> None:
    proc = _run("ruff", "format", "--check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.e2e  # a child process; 15 s on a cold cache
def test_mypy_is_clean_on_the_package() -> None:
    proc = _run("mypy", "--strict", "driftaudit")
    assert proc.returncode == 0, proc.stdout + proc.stderr
