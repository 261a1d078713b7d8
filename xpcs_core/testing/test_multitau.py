"""Conformance: the streaming multi-tau accumulator (hook ``xpcs_multitau_accumulator``).

Expected values come from a brute-force reading of docs/physics.md "Multi-tau
correlation", written here independently of every backend: per level, loop over the
lags and average over the valid pairs; the next level averages each pair of frames
over its valid members. The results must not depend on how the frames are cut into
blocks, and the dense and sparse paths must give the same sums.

All tests share one stack shape so that compiling backends (jax) compile once.
"""

from __future__ import annotations

import numpy as np
import pytest

from xpcs_core.errors import XpcsInputError
from xpcs_core.kernels.multitau import MultitauOptions, multitau, multitau_delays
from xpcs_core.testing import assert_close, require_hook

HOOK = "xpcs_multitau_accumulator"
N_FRAMES, N_PIX = 203, 24  # not a power of two; 6 levels


def multitau_by_definition(frames: np.ndarray, valid: np.ndarray | None = None) -> dict:
    """Lags 1..8 on raw frames, then m*2**L (m = 5..8) on frames pair-averaged L times.

    A pair counts when both frames are valid; a level-L frame is the mean of the valid
    ones of its two level-(L-1) frames and is invalid when neither is.
    """
    data = np.asarray(frames, dtype=np.float64)
    ok = np.ones(len(data), bool) if valid is None else np.asarray(valid, bool)
    out: dict[str, list] = {"delays": [], "G2": [], "IP": [], "IF": [], "n_pairs": []}
    level = 0
    while True:
        n = len(data)
        lags = [m for m in (range(1, 9) if level == 0 else range(5, 9)) if m < n]
        if not lags:
            break
        for m in lags:
            pairs = [t for t in range(n - m) if ok[t] and ok[t + m]]
            if not pairs:
                continue
            early, late = data[pairs], data[[t + m for t in pairs]]
            out["delays"].append(m << level)
            out["G2"].append((early * late).mean(axis=0))
            out["IP"].append(early.mean(axis=0))
            out["IF"].append(late.mean(axis=0))
            out["n_pairs"].append(len(pairs))
        half = n // 2
        nxt, nxt_ok = np.zeros((half, data.shape[1])), np.zeros(half, bool)
        for j in range(half):
            members = [t for t in (2 * j, 2 * j + 1) if ok[t]]
            if members:
                nxt[j], nxt_ok[j] = data[members].mean(axis=0), True
        data, ok = nxt, nxt_ok
        level += 1
    return {k: np.array(v) for k, v in out.items()}


def correlate(backend, frames, valid=None, chunk=None, path="auto", n_levels=None):
    """Feed ``frames`` to a fresh accumulator in blocks of ``chunk`` (None = all at once)."""
    acc = backend.call(HOOK, n_pixels=frames.shape[1], n_frames=frames.shape[0],
                       options=MultitauOptions(path=path, n_levels=n_levels))
    step = chunk or frames.shape[0]
    for s in range(0, frames.shape[0], step):
        acc.update(frames[s : s + step], None if valid is None else valid[s : s + step])
    return acc.finish()


def _poisson(seed: int, scale: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rate = scale * rng.gamma(2.0, 1.0, size=(1, N_PIX))
    return rng.poisson(rate, size=(N_FRAMES, N_PIX)).astype(np.uint16)


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return _poisson(42, 1.5)


@pytest.fixture(scope="module")
def valid() -> np.ndarray:
    rng = np.random.default_rng(7)
    ok = rng.random(N_FRAMES) > 0.12
    ok[40:47] = False  # a run: whole level-1 and level-2 frames are bad
    ok[0] = ok[-1] = False
    return ok


def _assert_sums(got, want, quantity="multitau_g2"):
    np.testing.assert_array_equal(got.delays, want["delays"])
    np.testing.assert_array_equal(got.n_pairs, want["n_pairs"])
    for key in ("G2", "IP", "IF"):
        assert_close(np.asarray(getattr(got, key)), want[key], quantity, err_msg=key)


def test_lag_schedule_of_the_definition(frames):
    expected = [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80]
    assert multitau_delays(100).tolist() == expected
    assert multitau_by_definition(frames[:100])["delays"].tolist() == expected


def test_matches_definition(xpcs_backend, frames, xpcs_exec_mode):
    require_hook(xpcs_backend, HOOK)
    got = correlate(xpcs_backend, frames, chunk=64)
    want = multitau_by_definition(frames)
    np.testing.assert_array_equal(got.delays, multitau_delays(N_FRAMES))
    _assert_sums(got, want)
    assert got.G2.shape == (len(want["delays"]), N_PIX) and got.G2.dtype == np.float64


def test_matches_reference_kernel(xpcs_backend, frames):
    require_hook(xpcs_backend, HOOK)
    got = correlate(xpcs_backend, frames)
    ref = multitau(np, frames.astype(np.float64))
    np.testing.assert_array_equal(got.delays, ref["delays"])
    for key in ("G2", "IP", "IF"):
        assert_close(got._asdict()[key], ref[key], "multitau_g2", err_msg=key)


@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_block_cuts_do_not_matter(xpcs_backend, frames, valid, chunk):
    require_hook(xpcs_backend, HOOK)
    whole = correlate(xpcs_backend, frames, valid)
    cut = correlate(xpcs_backend, frames, valid, chunk=chunk)
    np.testing.assert_array_equal(cut.delays, whole.delays)
    np.testing.assert_array_equal(cut.n_pairs, whole.n_pairs)
    for key in ("G2", "IP", "IF"):
        np.testing.assert_allclose(getattr(cut, key), getattr(whole, key), rtol=1e-12, atol=1e-13,
                                   err_msg=key)


def test_bad_frames_match_definition(xpcs_backend, frames, valid):
    require_hook(xpcs_backend, HOOK)
    got = correlate(xpcs_backend, frames, valid, chunk=7)
    want = multitau_by_definition(frames, valid)
    _assert_sums(got, want)
    clean = multitau_by_definition(frames)
    assert np.all(got.n_pairs <= clean["n_pairs"][: got.n_pairs.size])
    assert np.any(got.n_pairs < clean["n_pairs"][: got.n_pairs.size])


def test_bad_frames_are_never_read(xpcs_backend, frames, valid):
    """Garbage (NaN, huge values) in a bad frame changes nothing."""
    require_hook(xpcs_backend, HOOK)
    poisoned = frames.astype(np.float64)
    poisoned[~valid] = np.nan
    poisoned[np.flatnonzero(~valid)[::2]] = 1e300
    got = correlate(xpcs_backend, poisoned, valid, chunk=64)
    ref = correlate(xpcs_backend, frames.astype(np.float64), valid, chunk=64)
    for key in ("G2", "IP", "IF"):
        np.testing.assert_array_equal(getattr(got, key), getattr(ref, key), err_msg=key)


@pytest.mark.parametrize("scale", [0.03, 0.3])
def test_dense_and_sparse_agree(xpcs_backend, valid, scale):
    """Sparse and dense are the same sums (docs/physics.md: 1e-12 relative)."""
    require_hook(xpcs_backend, HOOK)
    low = _poisson(3, scale)
    results = {path: correlate(xpcs_backend, low, valid, chunk=64, path=path)
               for path in ("dense", "sparse", "auto")}
    assert results["dense"].path == "dense"
    assert results["sparse"].path in ("sparse", "dense")  # a backend may lack a sparse kernel
    for path in ("sparse", "auto"):
        np.testing.assert_array_equal(results[path].n_pairs, results["dense"].n_pairs)
        for key in ("G2", "IP", "IF"):
            np.testing.assert_allclose(getattr(results[path], key), getattr(results["dense"], key),
                                       rtol=1e-12, atol=1e-15, err_msg=f"{path} {key}")
    _assert_sums(results["sparse"], multitau_by_definition(low, valid))


@pytest.mark.parametrize("dtype", [np.uint16, np.float64])
def test_caller_may_reuse_its_array(xpcs_backend, frames, valid, dtype):
    """A reader that fills one array per block: the accumulator must not keep views of it."""
    require_hook(xpcs_backend, HOOK)
    data = frames.astype(dtype)
    want = correlate(xpcs_backend, data, valid, chunk=7)
    acc = xpcs_backend.call(HOOK, n_pixels=N_PIX, n_frames=N_FRAMES, options=MultitauOptions())
    buf = np.empty((7, N_PIX), dtype=dtype)
    for s in range(0, N_FRAMES, 7):
        k = min(7, N_FRAMES - s)
        buf[:k] = data[s : s + k]
        acc.update(buf[:k], valid[s : s + k])
        buf[:] = 9999  # the reader's next read
    got = acc.finish()
    for key in ("G2", "IP", "IF"):
        np.testing.assert_array_equal(getattr(got, key), getattr(want, key), err_msg=key)


def test_integer_and_float_input_agree(xpcs_backend, frames):
    require_hook(xpcs_backend, HOOK)
    ref = correlate(xpcs_backend, frames.astype(np.float64), chunk=64)
    for dtype in (np.uint16, np.float32, np.int32):
        got = correlate(xpcs_backend, frames.astype(dtype), chunk=64)
        for key in ("G2", "IP", "IF"):
            np.testing.assert_allclose(getattr(got, key), getattr(ref, key), rtol=1e-13,
                                       err_msg=f"{np.dtype(dtype)} {key}")


def test_level_limit(xpcs_backend, frames):
    require_hook(xpcs_backend, HOOK)
    got = correlate(xpcs_backend, frames, n_levels=2)
    assert got.delays.tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16]
    full = multitau_by_definition(frames)
    assert_close(got.G2, full["G2"][:12], "multitau_g2")


def test_bad_input_raises(xpcs_backend, frames):
    require_hook(xpcs_backend, HOOK)
    acc = xpcs_backend.call(HOOK, n_pixels=N_PIX, n_frames=10, options=MultitauOptions())
    with pytest.raises(XpcsInputError, match="shape"):
        acc.update(frames[:4, :5])
    with pytest.raises(XpcsInputError, match="valid"):
        acc.update(frames[:4], np.ones(3, bool))
    with pytest.raises(XpcsInputError, match="10"):
        acc.update(frames[:11])
    with pytest.raises(XpcsInputError):
        xpcs_backend.call(HOOK, n_pixels=N_PIX, n_frames=1, options=MultitauOptions())
