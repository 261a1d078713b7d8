"""The numpy backend's numba multi-tau kernels: every split into dense and sparse levels,
tile width and block gathering gives the sums of the generic accumulator, and the dense
and sparse kernels give the very same numbers (docs/physics.md: they are the same sums)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from xpcs_core.kernels.multitau import MultitauOptions, StreamingMultitau
from xpcs_numpy.multitau import NumbaMultitau

N_FRAMES, N_PIX = 181, 37


@pytest.fixture(scope="module", params=[0.08, 1.5], ids=["dim", "bright"])
def data(request):
    rng = np.random.default_rng(12)
    frames = rng.poisson(request.param * rng.gamma(2.0, 1.0, (1, N_PIX)), (N_FRAMES, N_PIX))
    valid = rng.random(N_FRAMES) > 0.15
    valid[60:66] = False
    ref = StreamingMultitau(np, N_PIX, N_FRAMES, MultitauOptions())
    ref.update(frames.astype(np.uint16), valid)
    return frames.astype(np.uint16), valid, ref.finish()


def _run(frames, valid, chunk, **kw):
    acc = NumbaMultitau(N_PIX, N_FRAMES, MultitauOptions(), **kw)
    for s in range(0, N_FRAMES, chunk):
        acc.update(frames[s : s + chunk], valid[s : s + chunk])
    return acc.finish()


@pytest.mark.parametrize("dense_from", [0, 1, 3, 99], ids=["dense", "sparse-1", "sparse-3", "sparse"])
@pytest.mark.parametrize("chunk,tile,block", [(1, 16, 1), (7, 5, 5), (64, 1024, 256)])
def test_every_split_matches_generic(data, dense_from, chunk, tile, block):
    frames, valid, ref = data
    got = _run(frames, valid, chunk, dense_from_level=dense_from, tile=tile, block=block)
    assert got.path == ("dense" if dense_from == 0 else "sparse")
    np.testing.assert_array_equal(got.delays, ref.delays)
    np.testing.assert_array_equal(got.n_pairs, ref.n_pairs)
    for key in ("G2", "IP", "IF"):
        np.testing.assert_allclose(getattr(got, key), getattr(ref, key), rtol=1e-12, atol=1e-14)


def test_dense_and_sparse_kernels_are_bitwise_equal(data):
    frames, valid, _ = data
    results = [_run(frames, valid, 13, dense_from_level=d, tile=8) for d in (0, 2, 99)]
    for other in results[1:]:
        for key in ("G2", "IP", "IF"):
            np.testing.assert_array_equal(getattr(other, key), getattr(results[0], key))


def test_auto_path_follows_the_count_rate():
    rng = np.random.default_rng(0)
    for rate, path in ((0.05, "sparse"), (2.0, "dense")):
        acc = NumbaMultitau(500, 400, MultitauOptions(path="auto"))
        acc.update(rng.poisson(rate, (400, 500)).astype(np.uint16))
        assert acc.finish().path == path
    acc = NumbaMultitau(500, 400, MultitauOptions(path="auto", sparse_threshold=0.01))
    acc.update(rng.poisson(0.05, (400, 500)).astype(np.uint16))
    assert acc.finish().path == "dense"


def test_finish_twice_and_update_after_finish():
    from xpcs_core.errors import XpcsInputError

    acc = NumbaMultitau(4, 20, MultitauOptions())
    acc.update(np.ones((20, 4)))
    first = acc.finish()
    assert acc.finish() is first
    with pytest.raises(XpcsInputError, match="after finish"):
        acc.update(np.ones((1, 4)))


def test_plugin_import_does_not_import_numba():
    code = "import sys, xpcs_numpy.plugin; assert 'numba' not in sys.modules, 'numba imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
