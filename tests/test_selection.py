"""Backend selection order, strict env parsing, fallback and provenance."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from xpcs_core import plugins
from xpcs_core.backend_info import BackendInfo
from xpcs_core.backends import call, get_backend, list_backends, select, set_backend
from xpcs_core.errors import BackendUnavailable, OpNotImplemented, XpcsBackendError, XpcsInputError
from xpcs_core.hookspecs import hookimpl


def test_auto_prefers_jax_when_installed():
    backend, explicit = select()
    assert backend.name == "jax" and not explicit
    assert [r["name"] for r in list_backends() if r["active"]] == ["jax"]


def test_use_jax_false_picks_next_by_priority(monkeypatch):
    monkeypatch.setenv("XPCS_USE_JAX", "false")
    # cupy has the higher priority but no GPU here, so numpy
    assert get_backend().name == "numpy"
    assert [r["name"] for r in list_backends() if r["active"]] == ["numpy"]


@pytest.mark.parametrize("value", ["TRUE", "1", "yes", "On"])
def test_use_jax_true_spellings(monkeypatch, value):
    monkeypatch.setenv("XPCS_USE_JAX", value)
    assert select() == (get_backend("jax"), True)


@pytest.mark.parametrize("var", ["XPCS_USE_JAX", "XPCS_USE_GPU"])
def test_unknown_value_names_accepted_values(monkeypatch, var):
    monkeypatch.setenv(var, "maybe")
    with pytest.raises(XpcsInputError, match=f"{var}='maybe'.*accepted values: true, false, auto"):
        from xpcs_core import config

        config.tristate(var)
    if var == "XPCS_USE_JAX":
        with pytest.raises(XpcsInputError):
            get_backend()


def test_use_jax_true_without_jax_says_to_install_it(monkeypatch):
    monkeypatch.setenv("XPCS_DISABLE_PLUGINS", "jax")
    monkeypatch.setenv("XPCS_USE_JAX", "true")
    with pytest.raises(XpcsBackendError, match=r"XPCS_USE_JAX=true: unknown backend 'jax' \(install"):
        get_backend()


def test_priority_env_orders_candidates(monkeypatch):
    monkeypatch.setenv("XPCS_BACKEND_PRIORITY", "numpy,jax")
    backend, explicit = select()
    assert backend.name == "numpy" and not explicit
    assert [r["name"] for r in list_backends()][:2] == ["numpy", "jax"]
    monkeypatch.setenv("XPCS_BACKEND_PRIORITY", "cupy,jax")  # cupy unavailable here: skipped
    assert get_backend().name == "jax"
    monkeypatch.setenv("XPCS_USE_JAX", "false")  # false excludes jax whatever the order
    assert get_backend().name == "numpy"


@pytest.mark.parametrize("value", ["numpy,,jax", "numpy;jax", "numpy,numpy", "Num Py"])
def test_priority_env_is_parsed_strictly(monkeypatch, value):
    monkeypatch.setenv("XPCS_BACKEND_PRIORITY", value)
    with pytest.raises(XpcsInputError, match="XPCS_BACKEND_PRIORITY"):
        get_backend()


def test_priority_env_unknown_name(monkeypatch):
    monkeypatch.setenv("XPCS_BACKEND_PRIORITY", "tensorflow,numpy")
    with pytest.raises(XpcsBackendError, match="XPCS_BACKEND_PRIORITY names tensorflow, not installed"):
        get_backend()


def test_xpcs_backend_env(monkeypatch):
    monkeypatch.setenv("XPCS_BACKEND", "NumPy")
    assert select() == (get_backend("numpy"), True)


def test_xpcs_backend_unknown_lists_installed(monkeypatch):
    monkeypatch.setenv("XPCS_BACKEND", "tensorflow")
    with pytest.raises(XpcsBackendError, match=r"XPCS_BACKEND: unknown backend 'tensorflow'.*numpy"):
        get_backend()


def test_unavailable_backend_gives_reason(monkeypatch):
    monkeypatch.setenv("XPCS_BACKEND", "cupy")
    with pytest.raises(XpcsBackendError, match="cupy.*unavailable"):
        get_backend()


def test_argument_beats_session_beats_env(monkeypatch):
    monkeypatch.setenv("XPCS_BACKEND", "jax")
    monkeypatch.setenv("XPCS_USE_JAX", "false")
    assert get_backend().name == "jax"  # XPCS_BACKEND beats XPCS_USE_JAX
    set_backend("numpy")
    assert get_backend().name == "numpy"  # set_backend beats XPCS_BACKEND
    assert get_backend("jax").name == "jax"  # the argument beats everything
    set_backend(None)
    assert get_backend().name == "jax"


def test_set_backend_rejects_unknown():
    with pytest.raises(XpcsBackendError, match="set_backend: unknown backend 'nope'"):
        set_backend("nope")


# ------------------------------------------------------------------ fallback
def _backend(name, priority, with_mean, load_error=None):
    class Fake:
        @hookimpl
        def xpcs_backend_info(self):
            return BackendInfo(name=name, version="1.0", priority=priority)

        @hookimpl
        def xpcs_to_numpy(self, array):
            return np.asarray(array)

        if load_error:
            @hookimpl
            def xpcs_backend_load(self):
                raise BackendUnavailable(load_error)

        if with_mean:
            @hookimpl
            def xpcs_binned_mean(self, data, labels, n_labels):
                data = np.asarray(data, float).ravel()
                labels = np.asarray(labels).ravel()
                counts = np.bincount(labels, minlength=n_labels + 1)[1:]
                sums = np.bincount(labels, weights=data, minlength=n_labels + 1)[1:]
                return sums / counts, counts

    return Fake()


@pytest.fixture
def partial_and_full(monkeypatch):
    monkeypatch.setenv("XPCS_USE_JAX", "false")
    plugins.register_backend("partial", _backend("partial", 1000, with_mean=False))
    plugins.register_backend("full", _backend("full", 999, with_mean=True))


def test_fallback_along_priority_is_logged_and_recorded(partial_and_full, caplog):
    assert get_backend().name == "partial"
    with caplog.at_level(logging.WARNING, logger="xpcs_core.backends"):
        (means, counts), prov = call(
            "xpcs_binned_mean", data=np.array([1.0, 3.0, 5.0]), labels=np.array([1, 1, 2]), n_labels=2
        )
    np.testing.assert_allclose(means, [2.0, 5.0])
    assert prov.backend == "full"
    assert prov.fallback_from == "partial"
    assert "partial" in prov.reason and "binning" in prov.reason
    assert any("does not implement binning" in r.getMessage() for r in caplog.records)


def test_explicit_backend_never_falls_back(partial_and_full, monkeypatch):
    with pytest.raises(OpNotImplemented, match="'partial' does not implement binning"):
        call("xpcs_binned_mean", backend="partial", data=[1.0], labels=[1], n_labels=1)
    monkeypatch.setenv("XPCS_BACKEND", "partial")
    with pytest.raises(OpNotImplemented):
        call("xpcs_binned_mean", data=[1.0], labels=[1], n_labels=1)


def test_provenance_of_a_direct_call():
    out, prov = call("xpcs_to_numpy", backend="numpy", array=[1, 2])
    assert prov.backend == "numpy" and prov.requested == "numpy" and prov.fallback_from is None
    assert "numpy" in prov.library_versions
    assert prov.as_dict()["backend"] == "numpy"


def test_backend_failing_to_start_is_skipped_in_auto(monkeypatch, caplog):
    monkeypatch.setenv("XPCS_USE_JAX", "false")
    plugins.register_backend("flaky", _backend("flaky", 2000, with_mean=True, load_error="driver too old"))
    with caplog.at_level(logging.WARNING):
        assert get_backend().name == "numpy"
    assert any("driver too old" in r.getMessage() for r in caplog.records)
    rows = {r["name"]: r for r in list_backends()}
    assert rows["flaky"]["available"] is False and "driver too old" in rows["flaky"]["reason"]
    with pytest.raises(XpcsBackendError, match="driver too old"):
        get_backend("flaky")
