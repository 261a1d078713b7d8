"""Numeric paths (docs/reliability.md): one bad bin is flagged and the others fit; tau(q)
on degenerate inputs is 'not computable' with its reason, never a traceback."""

from __future__ import annotations

import shutil
import warnings

import h5py
import numpy as np
import pytest

import xpcs_core as xc
from tests.conftest import run_xpcs
from xpcs_core.io.synthetic import SyntheticSpec, write_synthetic

MT = "/xpcs/multitau"
Q = "/xpcs/qmap/dynamic_v_list_dim0"


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    path = tmp_path_factory.mktemp("num") / "base.h5"
    write_synthetic(path, spec=SyntheticSpec.for_shape((64, 64), n_frames=200, seed=1))
    return path


def _set(key, change):
    def edit(f):
        ds = f[key]
        a = ds[()]
        change(a)
        ds[...] = a
    return edit


CASES = {
    "tiny_errors_in_one_bin": (_set(f"{MT}/normalized_g2_err", lambda a: a.__setitem__((slice(None), 1), 1e-30)),
                               "computable"),
    "flat_g2_in_one_bin": (_set(f"{MT}/normalized_g2", lambda a: a.__setitem__((slice(None), 0), 1.0)),
                           "computable"),
    "huge_g2_in_one_bin": (_set(f"{MT}/normalized_g2", lambda a: a.__setitem__((slice(None), 2), 3e38)),
                           "computable"),
    "all_g2_flat": (_set(f"{MT}/normalized_g2", lambda a: a.__setitem__(Ellipsis, 1.0)), "none"),
    "q_extreme": (_set(Q, lambda a: a.__setitem__(Ellipsis, np.geomspace(1e-300, 1e300, a.size))), "none"),
    "q_all_equal": (_set(Q, lambda a: a.__setitem__(Ellipsis, 0.01)), "brownian only"),
    "q_all_zero": (_set(Q, lambda a: a.__setitem__(Ellipsis, 0.0)), "none"),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_degenerate_files_fit_without_traceback(base, tmp_path, case, backend):
    edit, expect = CASES[case]
    path = tmp_path / f"{case}.h5"
    shutil.copy(base, path)
    with h5py.File(path, "a") as f:
        edit(f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = xc.fit_g2(str(path), backend=backend)
    good = fit.constrained()
    if expect == "computable":  # the bad bin is flagged; D still comes from the others
        clean = xc.fit_g2(str(base), backend=backend)
        assert good.sum() >= clean.constrained().sum() - 1
        assert fit.tauq.D_A2_per_s == pytest.approx(clean.tauq.D_A2_per_s, rel=0.25)
    elif expect == "brownian only":
        assert fit.tauq is not None and fit.tauq.free is None
    else:
        assert fit.tauq is None or np.isfinite(fit.tauq.D_A2_per_s)
        if fit.tauq is None:
            assert fit.tauq_note
    if backend == "numpy":  # and the command line: a one-line outcome, no traceback
        res = run_xpcs("fit", str(path), "--backend", backend)
        assert res.returncode in (0, 1) and "Traceback" not in res.stderr, res.stderr
