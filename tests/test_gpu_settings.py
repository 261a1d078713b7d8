"""XPCS_USE_GPU / XPCS_GPU_FALLBACK / XPCS_GPU_MEMORY_FRACTION on the jax and cupy backends.

JAX reads its configuration once per process, so each case runs in a subprocess.
This machine has no GPU: the tests check the CPU-side behaviour (fallback, errors).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import XPCS_ENV

PROBE = """
import json, os, warnings
warnings.simplefilter("always")
from xpcs_core import get_backend
from xpcs_core.errors import XpcsError
out = {}
with warnings.catch_warnings(record=True) as caught:
    try:
        b = get_backend("jax")
        out["devices"] = b.load()
        x = b.to_device([1.5, 2.5])
        out["dtype"] = str(b.to_numpy(x).dtype)
        out["x64"] = str(b.xp.asarray(1.0).dtype)
    except XpcsError as exc:
        out["error"] = str(exc)
out["warnings"] = [str(w.message) for w in caught]
out["mem"] = os.environ.get("XLA_PYTHON_CLIENT_MEM_FRACTION")
out["prealloc"] = os.environ.get("XLA_PYTHON_CLIENT_PREALLOCATE")
print(json.dumps(out))
"""


def _probe(**env: str) -> dict:
    full = {k: v for k, v in os.environ.items() if k not in XPCS_ENV}
    full.update(env)
    res = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=full, timeout=120)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_jax_runs_in_float64_on_cpu_without_preallocation():
    out = _probe()
    assert out["devices"][0] == "cpu"
    assert out["dtype"] == "float64" and out["x64"] == "float64"
    assert out["prealloc"] == "false"


def test_gpu_requested_but_absent_falls_back_with_warning():
    out = _probe(XPCS_USE_GPU="true")
    assert out["devices"][0] == "cpu"
    assert any("no GPU" in w for w in out["warnings"])


def test_gpu_requested_without_fallback_is_an_error():
    out = _probe(XPCS_USE_GPU="true", XPCS_GPU_FALLBACK="false")
    assert "error" in out
    assert "XPCS_USE_GPU=true" in out["error"] and "XPCS_GPU_FALLBACK=false" in out["error"]


def test_gpu_memory_fraction_is_passed_to_xla():
    out = _probe(XPCS_GPU_MEMORY_FRACTION="0.25")
    assert out["mem"] == "0.250"


@pytest.mark.parametrize("env", [{"XPCS_GPU_MEMORY_FRACTION": "1.5"}, {"XPCS_GPU_FALLBACK": "perhaps"}])
def test_bad_gpu_settings_are_input_errors(env):
    out = _probe(XPCS_USE_GPU="true", **env)
    assert list(env)[0] in out["error"]


def test_use_gpu_false_forces_cpu():
    out = _probe(XPCS_USE_GPU="false")
    assert out["devices"] == ["cpu"]


def test_cupy_without_cuda_reports_why_and_breaks_nothing():
    from xpcs_core.backends import list_backends

    rows = {r["name"]: r for r in list_backends()}
    cupy = rows["cupy"]
    assert cupy["error"] is None
    assert cupy["distribution"] == "xpcs-cupy"
    if not cupy["available"]:
        assert cupy["reason"]
        assert cupy["active"] is False
    assert rows["numpy"]["available"]


def test_cupy_disabled_by_use_gpu_false(monkeypatch):
    from xpcs_core.backends import list_backends

    monkeypatch.setenv("XPCS_USE_GPU", "false")
    rows = {r["name"]: r for r in list_backends()}
    assert rows["cupy"]["available"] is False
    assert rows["cupy"]["reason"] == "XPCS_USE_GPU=false"
