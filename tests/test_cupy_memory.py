"""The cupy backend out of GPU memory (no GPU needed: the error is simulated)."""

from __future__ import annotations

import logging

import pytest

from xpcs_core.errors import XpcsBackendError
from xpcs_cupy.runtime import on_gpu


class OutOfMemoryError(Exception):  # the name cupy's error has
    pass


@on_gpu
def xpcs_twotime(frames):
    if frames == "huge":
        raise OutOfMemoryError("Out of memory allocating 8,000,000,000 bytes")
    if frames == "bug":
        raise ValueError("not a memory problem")
    return "c2"


def test_out_of_memory_declines_when_fallback_is_on(monkeypatch, caplog):
    monkeypatch.delenv("XPCS_GPU_FALLBACK", raising=False)
    with caplog.at_level(logging.WARNING, logger="xpcs_cupy.runtime"):
        assert xpcs_twotime("huge") is None  # declined: the core's fallback computes it
    assert "out of GPU memory in xpcs_twotime" in caplog.text
    assert xpcs_twotime("small") == "c2"


def test_out_of_memory_is_an_error_without_fallback(monkeypatch):
    monkeypatch.setenv("XPCS_GPU_FALLBACK", "false")
    with pytest.raises(XpcsBackendError, match="out of GPU memory in xpcs_twotime.*XPCS_GPU_MEMORY_FRACTION"):
        xpcs_twotime("huge")


def test_other_errors_pass_through():
    with pytest.raises(ValueError, match="not a memory problem"):
        xpcs_twotime("bug")


def test_a_declined_call_falls_back_to_the_next_backend(monkeypatch):
    import numpy as np

    from xpcs_core import plugins
    from xpcs_core.backend_info import BackendInfo
    from xpcs_core.backends import call
    from xpcs_core.hookspecs import hookimpl

    class SmallGpu:
        @hookimpl
        def xpcs_backend_info(self):
            return BackendInfo(name="smallgpu", version="1", priority=1000)

        @hookimpl
        @on_gpu
        def xpcs_twotime(self, frames):
            raise OutOfMemoryError("out of memory")

    monkeypatch.setenv("XPCS_USE_JAX", "false")
    plugins.register_backend("smallgpu", SmallGpu())
    frames = np.random.default_rng(0).poisson(2.0, (6, 5)).astype(float)
    c2, prov = call("xpcs_twotime", frames=frames)
    assert prov.backend == "numpy" and prov.fallback_from == "smallgpu"
    assert c2.shape == (6, 6)


def test_out_of_memory_mid_stream_is_a_backend_error():
    import numpy as np

    from xpcs_core.kernels.multitau import MultitauOptions
    from xpcs_cupy.multitau import make_accumulator

    def launch(grid, block, args):
        raise OutOfMemoryError("Out of memory allocating 1,073,741,824 bytes")

    acc = make_accumulator(np, 4, 40, MultitauOptions(), launch=launch)
    with pytest.raises(XpcsBackendError, match=r"out of GPU memory in StreamingMultitau.update .*smaller blocks"):
        acc.update(np.ones((10, 4), dtype=np.uint16))
