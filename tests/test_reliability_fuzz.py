"""Mutation fuzz of ``fit`` (docs/reliability.md): extreme values anywhere in g2, its errors,
the delays and q; only typed errors or per-bin flags may come out, never another exception."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xpcs_core as xc
from xpcs_core.errors import XpcsError
from xpcs_core.io.synthetic import SyntheticSpec, write_synthetic

TARGETS = [
    "/xpcs/multitau/normalized_g2",
    "/xpcs/multitau/normalized_g2_err",
    "/xpcs/multitau/delay_list",
    "/xpcs/qmap/dynamic_v_list_dim0",
    "/entry/instrument/detector_1/frame_time",
]
EXTREMES = [np.nan, np.inf, -np.inf, 0.0, -1.0, 1e-300, 1e300, 3e38, -3e38, 1.0, 2.0, 1e-30]


@pytest.fixture(scope="module")
def base() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="xpcs-fuzz-"))
    path = folder / "base.h5"
    write_synthetic(path, spec=SyntheticSpec.for_shape((48, 48), n_frames=150, seed=3))
    return path


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fit_lets_only_typed_errors_or_flags_out(base, data):
    edits = data.draw(st.lists(st.tuples(st.sampled_from(TARGETS), st.sampled_from(EXTREMES),
                                         st.floats(0, 1), st.booleans()), min_size=1, max_size=4))
    model = data.draw(st.sampled_from(["single", "stretched"]))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "f.h5"
        shutil.copy(base, path)
        with h5py.File(path, "a") as f:
            for key, value, where, whole in edits:
                ds = f[key]
                a = np.array(ds[()], dtype=np.float64)
                if whole or a.ndim == 0:
                    a[...] = value
                else:
                    a.reshape(-1)[int(where * (a.size - 1))] = value
                with np.errstate(invalid="ignore", over="ignore"):
                    ds[...] = a.astype(ds.dtype)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = xc.fit_g2(str(path), model=model, backend="numpy")
        except XpcsError:
            return  # a typed error: the contract
        assert fit.success.shape == (fit.n_bins,)
        notes = fit.notes()
        for b in np.flatnonzero(~fit.success):
            assert notes[b], "a failed bin carries its reason"
        if fit.tauq is not None:
            assert np.isfinite(fit.tauq.D_A2_per_s)
        else:
            assert fit.tauq_note or int(fit.constrained().sum()) < 2
