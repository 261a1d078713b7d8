"""The cupy backend's multi-tau code path, run with NumPy as ``xp``.

CPU-only CI cannot import cupy, but the cupy hookimpl only hands ``cupy`` to the generic
accumulator (:class:`xpcs_core.kernels.multitau.StreamingMultitau`); here the same code
gets ``numpy`` and must agree with the numpy backend and the whole-block reference.
"""

from __future__ import annotations

import numpy as np
import pytest

from xpcs_core.backends import Backend
from xpcs_core.kernels.multitau import MultitauOptions, multitau
from xpcs_cupy import multitau as cupy_multitau

N_FRAMES, N_PIX = 150, 9


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    rng = np.random.default_rng(8)
    return rng.poisson(rng.gamma(2.0, 1.0, size=(1, N_PIX)), size=(N_FRAMES, N_PIX)).astype(np.uint16)


def _run(make, frames, valid=None, chunk=None):
    acc = make(n_pixels=N_PIX, n_frames=N_FRAMES, options=MultitauOptions())
    step = chunk or N_FRAMES
    for s in range(0, N_FRAMES, step):
        acc.update(frames[s : s + step], None if valid is None else valid[s : s + step])
    return acc.finish()


@pytest.mark.parametrize("chunk", [1, 7, None])
def test_generic_path_matches_numpy_backend(frames, chunk):
    rng = np.random.default_rng(2)
    valid = rng.random(N_FRAMES) > 0.1
    got = _run(lambda **kw: cupy_multitau.make_accumulator(np, **kw), frames, valid, chunk)
    want = _run(lambda **kw: Backend("numpy").call("xpcs_multitau_accumulator", **kw), frames, valid)
    assert got.path == "dense"
    np.testing.assert_array_equal(got.delays, want.delays)
    np.testing.assert_array_equal(got.n_pairs, want.n_pairs)
    for key in ("G2", "IP", "IF"):
        np.testing.assert_allclose(getattr(got, key), getattr(want, key), rtol=1e-12, err_msg=key)


def test_generic_path_matches_reference_kernel(frames):
    got = _run(lambda **kw: cupy_multitau.make_accumulator(np, **kw), frames, chunk=16)
    ref = multitau(np, frames.astype(np.float64))
    np.testing.assert_array_equal(got.delays, ref["delays"])
    for key in ("G2", "IP", "IF"):
        np.testing.assert_allclose(getattr(got, key), ref[key], rtol=1e-12, err_msg=key)


def test_generic_path_keeps_no_view_of_the_callers_array(frames):
    data = frames.astype(np.float64)
    want = _run(lambda **kw: cupy_multitau.make_accumulator(np, **kw), data, chunk=5)
    acc = cupy_multitau.make_accumulator(np, n_pixels=N_PIX, n_frames=N_FRAMES, options=MultitauOptions())
    buf = np.empty((5, N_PIX))
    for s in range(0, N_FRAMES, 5):
        buf[:] = data[s : s + 5]
        acc.update(buf)
        buf[:] = -1.0
    got = acc.finish()
    for key in ("G2", "IP", "IF"):
        np.testing.assert_array_equal(getattr(got, key), getattr(want, key), err_msg=key)
