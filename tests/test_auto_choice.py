"""Per-op automatic choice by workload (docs/architecture.md, "Automatic choice")."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from xpcs_core import costs, plugins
from xpcs_core.backend_info import BackendInfo
from xpcs_core.backends import call
from xpcs_core.hookspecs import hookimpl


def _fake(name: str, priority: int, cost: tuple[float, float, float]):
    class Fake:
        @hookimpl
        def xpcs_backend_info(self):
            return BackendInfo(name=name, version="1", priority=priority, costs={"binning": cost})

        @hookimpl
        def xpcs_to_numpy(self, array):
            return np.asarray(array)

        @hookimpl
        def xpcs_binned_mean(self, data, labels, n_labels):
            return np.array([float(priority)]), np.array([1])

    return Fake()


@pytest.fixture
def two_backends(monkeypatch, tmp_path):
    monkeypatch.setenv("XPCS_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("XPCS_DISABLE_PLUGINS", "numpy,jax,cupy")
    plugins.reset_registry()
    plugins.register_backend("lean", _fake("lean", 1, (0.0, 1e-3, 0.0)))  # no overhead, slow per element
    plugins.register_backend("bulky", _fake("bulky", 2, (1.0, 1e-6, 0.0)))  # overhead, fast per element
    yield


def test_small_work_goes_to_low_overhead_large_to_fast(two_backends):
    _, small = call("xpcs_binned_mean", data=[1.0], labels=[1], n_labels=1, workload=10)
    _, large = call("xpcs_binned_mean", data=[1.0], labels=[1], n_labels=1, workload=1e7)
    assert small.backend == "lean" and large.backend == "bulky"
    assert small.reason.startswith("auto: lean, est. 0.01 s vs bulky 1 s")
    assert large.reason.startswith("auto: bulky, est. 11 s vs lean 1e+04 s")


def test_explicit_choices_are_never_overridden(two_backends, monkeypatch):
    _, prov = call("xpcs_binned_mean", backend="bulky", data=[1.0], labels=[1], n_labels=1, workload=10)
    assert prov.backend == "bulky" and prov.requested == "bulky"
    monkeypatch.setenv("XPCS_BACKEND", "lean")
    _, prov = call("xpcs_binned_mean", data=[1.0], labels=[1], n_labels=1, workload=1e7)
    assert prov.backend == "lean"


def test_calibration_overrides_declared_costs(two_backends):
    info = plugins.registry().plugins["lean"].info
    costs.save_calibration("lean", dict(info.library_versions), {"binning": costs.OpCost(0.0, 1e-12, 0.0)})
    _, prov = call("xpcs_binned_mean", data=[1.0], labels=[1], n_labels=1, workload=1e7)
    assert prov.backend == "lean"  # measured here: lean is the faster one after all
    stored = json.loads(costs.calibration_path().read_text())
    assert any(key.startswith("lean:") for key in stored)


def test_first_call_cost_is_paid_once(two_backends):
    info = BackendInfo(name="x", version="1", costs={"lsq": (0.0, 0.0, 5.0)})
    assert costs.estimate("x", info, "lsq", 1) == 5.0
    costs.mark_warm("x", "lsq")
    assert costs.estimate("x", info, "lsq", 1) == 0.0


SMALL_FIT = """
import sys, xpcs_core as xc
from xpcs_core.io.synthetic import SyntheticSpec, write_synthetic
write_synthetic(sys.argv[1], spec=SyntheticSpec.for_shape((64, 64), n_frames=200))
fit = xc.fit_g2(sys.argv[1])
print(fit.provenance["backend"], "jax" in sys.modules)
print(fit.provenance["reason"])
"""


def test_small_fit_on_a_cpu_stays_on_numpy_without_importing_jax(tmp_path):
    out = subprocess.run([sys.executable, "-c", SMALL_FIT, str(tmp_path / "f.h5")], capture_output=True,
                         text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "XPCS_CACHE_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    first, reason = out.stdout.splitlines()[:2]
    assert first == "numpy False"
    assert reason.startswith("auto: numpy, est.") and "vs jax" in reason


def test_use_jax_true_still_means_jax_for_everything(tmp_path, monkeypatch):
    import xpcs_core as xc
    from xpcs_core.io.synthetic import SyntheticSpec, write_synthetic

    path = tmp_path / "f.h5"
    write_synthetic(path, spec=SyntheticSpec.for_shape((64, 64), n_frames=200))
    monkeypatch.setenv("XPCS_USE_JAX", "true")
    assert xc.fit_g2(str(path)).provenance["backend"] == "jax"
