"""Shared fixtures of the core's tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
XPCS_ENV = (
    "XPCS_BACKEND", "XPCS_USE_JAX", "XPCS_USE_GPU", "XPCS_GPU_FALLBACK",
    "XPCS_GPU_MEMORY_FRACTION", "XPCS_DISABLE_PLUGINS", "XPCS_STRICT_PLUGINS",
)


@pytest.fixture(autouse=True)
def clean_xpcs_env(monkeypatch):
    """Each test starts with no XPCS_* variables and a fresh plugin registry."""
    from xpcs_core import backends, plugins

    for name in XPCS_ENV:
        monkeypatch.delenv(name, raising=False)
    plugins.reset_registry()
    backends.set_backend(None)
    yield
    plugins.reset_registry()
    backends.set_backend(None)


@pytest.fixture(scope="session")
def third_party_site(tmp_path_factory) -> Path:
    """pip-install the toy and the broken backend distributions into a private directory.

    The directory goes on PYTHONPATH (subprocesses) or sys.path (in process), so the
    project's virtual environment itself is left as it was.
    """
    target = tmp_path_factory.mktemp("site")
    cmd = [
        sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
        "--disable-pip-version-check", "--target", str(target),
        str(FIXTURES / "toy_backend"), str(FIXTURES / "broken_backend"),
    ]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return target


@pytest.fixture
def with_third_party(third_party_site, monkeypatch) -> Path:
    """Make the third-party plugins visible to this process."""
    from xpcs_core import plugins

    monkeypatch.syspath_prepend(str(third_party_site))
    plugins.reset_registry()
    return third_party_site


def run_xpcs(*args: str, env: dict[str, str] | None = None, pythonpath: Path | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the ``xpcs`` CLI in a subprocess with a clean XPCS_* environment."""
    full = {k: v for k, v in os.environ.items() if k not in XPCS_ENV}
    if pythonpath is not None:
        full["PYTHONPATH"] = str(pythonpath)
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "xpcs_core.cli.main", *args],
        capture_output=True, text=True, env=full, timeout=timeout,
    )
