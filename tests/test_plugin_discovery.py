"""Discovery of backends through entry points, isolation of broken plugins."""

from __future__ import annotations

import importlib.metadata

import numpy as np
import pytest

from xpcs_core import plugins
from xpcs_core.backend_info import BackendInfo
from xpcs_core.backends import Backend, call, list_backends
from xpcs_core.errors import XpcsBackendError
from xpcs_core.hookspecs import HOOK_FAMILIES, hookimpl


def test_bundled_backends_are_discovered():
    reg = plugins.registry()
    assert {"numpy", "jax", "cupy"} <= set(reg.plugins)
    assert reg.plugins["numpy"].distribution == "xpcs-numpy"
    assert reg.plugins["jax"].distribution == "xpcs-jax"
    assert reg.plugins["numpy"].entry_point == "xpcs_numpy.plugin"
    assert reg.plugins["numpy"].available


def test_entry_points_scanned_once(monkeypatch):
    calls = []
    real = importlib.metadata.entry_points

    def counting(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(importlib.metadata, "entry_points", counting)
    plugins.reset_registry()
    first = plugins.registry()
    list_backends()
    Backend("numpy").to_numpy([1.0])
    assert plugins.registry() is first
    assert len(calls) == 1


def test_third_party_backend_discovered(with_third_party):
    reg = plugins.registry()
    toy = reg.plugins["toy"]
    assert toy.ok and toy.available
    assert toy.distribution == "xpcs-toy"
    assert reg.capabilities("toy") == [f for f in HOOK_FAMILIES if f != "posterior"]
    labels = np.array([[1, 1, 2], [0, 2, 2]])
    data = np.arange(6, dtype=float).reshape(2, 3)
    (means, counts), prov = call("xpcs_binned_mean", backend="toy", data=data, labels=labels, n_labels=2)
    np.testing.assert_allclose(means, [0.5, (2 + 4 + 5) / 3])
    np.testing.assert_array_equal(counts, [2, 3])
    assert prov.backend == "toy"


def test_broken_plugin_is_kept_with_its_error(with_third_party):
    reg = plugins.registry()
    broken = reg.plugins["broken"]
    assert not broken.ok and not broken.available
    assert "unobtainium" in broken.error
    assert isinstance(broken.exception, ImportError)
    rows = {r["name"]: r for r in list_backends()}
    assert rows["broken"]["error"].startswith("ImportError")
    assert rows["broken"]["available"] is False
    assert rows["broken"]["capabilities"] == []
    # everything else keeps working
    assert rows["numpy"]["available"] and rows["toy"]["available"]
    out = Backend("numpy").to_numpy(Backend("numpy").to_device([1, 2]))
    np.testing.assert_array_equal(out, [1, 2])


def test_selecting_broken_plugin_is_a_clear_error(with_third_party):
    with pytest.raises(XpcsBackendError, match="broken.*unobtainium"):
        call("xpcs_to_numpy", backend="broken", array=[1])


def test_disable_plugins(with_third_party, monkeypatch):
    monkeypatch.setenv("XPCS_DISABLE_PLUGINS", "broken, TOY")
    names = {r["name"] for r in list_backends()}
    assert "broken" not in names and "toy" not in names
    assert "numpy" in names


def test_strict_plugins_raise(with_third_party, monkeypatch):
    monkeypatch.setenv("XPCS_STRICT_PLUGINS", "1")
    with pytest.raises(XpcsBackendError, match="broken.*unobtainium"):
        plugins.registry()


def test_strict_plugins_value_is_parsed_strictly(monkeypatch):
    monkeypatch.setenv("XPCS_STRICT_PLUGINS", "sometimes")
    with pytest.raises(ValueError, match="XPCS_STRICT_PLUGINS.*accepted values"):
        plugins.registry()


class _NoInfo:
    @hookimpl
    def xpcs_array_namespace(self):
        return np


class _UnknownHook:
    @hookimpl
    def xpcs_backend_info(self):
        return BackendInfo(name="odd", version="1")

    @hookimpl
    def xpcs_make_coffee(self):
        return "coffee"


class _InfoRaises:
    @hookimpl
    def xpcs_backend_info(self):
        raise RuntimeError("probe exploded")


class _BadSignature:
    @hookimpl
    def xpcs_backend_info(self):
        return BackendInfo(name="sig", version="1")

    @hookimpl
    def xpcs_to_numpy(self, arr, extra):  # argument names not in the spec
        return arr


@pytest.mark.parametrize(
    "obj, message",
    [
        (_NoInfo(), "does not implement xpcs_backend_info"),
        (_UnknownHook(), "xpcs_make_coffee"),
        (_InfoRaises(), "probe exploded"),
        (_BadSignature(), "xpcs_to_numpy"),
    ],
)
def test_faulty_plugins_are_isolated(obj, message):
    with pytest.raises(XpcsBackendError, match=message):
        plugins.register_backend("faulty", obj)
    reg = plugins.registry()
    assert reg.plugins["faulty"].error
    assert not reg.pm.has_plugin("faulty")
    assert Backend("numpy").to_numpy([3.0])[0] == 3.0


def test_run_time_registration():
    class Runtime:
        @hookimpl
        def xpcs_backend_info(self):
            return BackendInfo(name="runtime", version="2.0", priority=1)

        @hookimpl
        def xpcs_to_numpy(self, array):
            return np.asarray(array) * 0 + 7

    plugins.register_backend("runtime", Runtime())
    assert Backend("runtime").to_numpy([1, 2]).tolist() == [7, 7]
    # the bundled backends' callers must not pick up the new plugin
    assert Backend("numpy").to_numpy([1, 2]).tolist() == [1, 2]


def test_two_distributions_with_one_backend_name_warn(monkeypatch, caplog):
    import logging

    real = importlib.metadata.entry_points

    class FakeDist:
        metadata = {"Name": "xpcs-numpy-fork"}
        version = "9.9"

    class FakeEntryPoint:
        name, value, group, dist = "numpy", "xpcs_numpy.plugin", "xpcs_core.backends", FakeDist()

        def load(self):
            import xpcs_numpy.plugin

            return xpcs_numpy.plugin

    def entry_points(group=None):
        found = list(real(group=group))
        return found + [FakeEntryPoint()] if group == "xpcs_core.backends" else found

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    plugins.reset_registry()
    with caplog.at_level(logging.WARNING, logger="xpcs_core.plugins"):
        reg = plugins.registry()
    assert reg.plugins["numpy"].distribution == "xpcs-numpy"  # the first one wins
    assert any("two plugins register the backend name 'numpy'" in r.getMessage()
               and "xpcs-numpy-fork" in r.getMessage() for r in caplog.records)


HOSTILE_PLUGINS = {
    "exits": "import sys\nsys.exit(3)\n",
    "interrupts": "raise KeyboardInterrupt\n",
    "hangs": "import time\ntime.sleep(3600)\n",
}


@pytest.fixture
def hostile_site(tmp_path):
    """Three third-party plugins that misbehave at import, as entry points on a path."""
    for name, body in HOSTILE_PLUGINS.items():
        pkg = tmp_path / f"xpcs_{name}"
        pkg.mkdir()
        (pkg / "__init__.py").write_text("")
        (pkg / "plugin.py").write_text(body)
        info = tmp_path / f"xpcs_{name}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: xpcs-{name}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[xpcs_core.backends]\n{name} = xpcs_{name}.plugin\n")
    return tmp_path


def test_named_backend_never_imports_the_others(hostile_site, tmp_path):
    from tests.conftest import run_xpcs
    from xpcs_core.io.synthetic import SyntheticSpec, write_synthetic

    path = tmp_path / "r.h5"
    write_synthetic(path, spec=SyntheticSpec.for_shape((32, 32), n_frames=100))
    res = run_xpcs("fit", str(path), "--backend", "numpy", "--json", pythonpath=hostile_site, timeout=120)
    assert res.returncode == 0, res.stderr
    assert '"backend": "numpy"' in res.stdout


def test_exit_and_interrupt_at_import_are_kept_as_errors(hostile_site, monkeypatch):
    (hostile_site / "xpcs_hangs-0.1.dist-info" / "entry_points.txt").unlink()  # listing imports all
    monkeypatch.syspath_prepend(str(hostile_site))
    plugins.reset_registry()
    reg = plugins.registry()
    assert "SystemExit" in reg.plugins["exits"].error
    assert "KeyboardInterrupt" in reg.plugins["interrupts"].error
    assert reg.plugins["numpy"].ok
