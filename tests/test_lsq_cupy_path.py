"""The cupy backend's least-squares code path, run with ``array_api_compat.numpy``.

The cupy hookimpl hands ``array_api_compat.cupy`` (the standard namespace of cupy) to
the shared Levenberg-Marquardt kernel; here the same function gets the standard
namespace of NumPy and must agree with the numpy backend and find the known parameters.
"""

from __future__ import annotations

import array_api_compat.numpy as xp_std
import numpy as np
import pytest

from xpcs_core.backends import Backend
from xpcs_core.testing.test_lsq import _problem, synthetic
from xpcs_cupy.lsq import fit_lsq


@pytest.mark.parametrize("model", ["single", "stretched", "double"])
def test_standard_namespace_path_matches_numpy_backend_and_truth(model):
    data = synthetic(model, n_bins=5)
    problem = _problem(data, model)
    got = fit_lsq(xp_std, problem, to_device=xp_std.asarray)
    want = Backend("numpy").call("xpcs_fit_lsq", problem=problem)
    assert got.success.all() and want.success.all()
    np.testing.assert_allclose(got.params, want.params, rtol=1e-9)
    np.testing.assert_allclose(got.errors, want.errors, rtol=1e-7)
    names = list(problem.model.params)
    for name, truth in data["truth"].items():
        j = names.index(name)
        assert np.all(np.abs(got.params[:, j] - truth) < 5 * got.errors[:, j] + 1e-12), name


def test_the_cupy_plugin_declares_lsq():
    assert Backend("cupy").implements("xpcs_fit_lsq")
    assert "lsq" in Backend("cupy").info.costs
