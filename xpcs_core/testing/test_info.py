"""Conformance: backend description, start-up and cheap probing."""

from __future__ import annotations

import json
import subprocess
import sys

from xpcs_core.backend_info import BackendInfo
from xpcs_core.plugins import registry

HEAVY = ("jax", "jaxlib", "numpyro", "cupy", "PySide6", "pyqtgraph")


def test_info_describes_backend(xpcs_backend):
    info = xpcs_backend.info
    assert isinstance(info, BackendInfo)
    assert info.name == xpcs_backend.name, "BackendInfo.name must equal the entry-point name"
    assert isinstance(info.version, str) and info.version
    assert isinstance(info.priority, int)
    assert info.available is True
    assert info.reason is None
    assert all(isinstance(d, str) and d for d in info.devices)


def test_loaded_devices_are_named(xpcs_backend):
    devices = xpcs_backend.load()
    assert devices, "a loaded backend has at least one device"
    for dev in devices:
        assert dev == "cpu" or dev.split(":")[0] in {"cuda", "rocm", "tpu", "metal", "gpu"}, dev


def test_capabilities_include_info_and_arrays(xpcs_backend):
    caps = registry().capabilities(xpcs_backend.name)
    assert "info" in caps
    assert "arrays" in caps, "every backend must provide the array ops"


def test_probe_does_not_import_heavy_libraries(xpcs_backend):
    code = (
        "import sys, json\n"
        "from xpcs_core.plugins import registry\n"
        f"p = registry().plugins[{xpcs_backend.name!r}]\n"
        "assert p.info is not None, p.error\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
