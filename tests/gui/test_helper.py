"""The helper process of Bayesian fits: same answers as in-process, cancel, typed errors,
recovery after it dies."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from xpcs_core.errors import XpcsCancelled, XpcsError, XpcsInputError
from xpcs_core.gui.helper import Helper


@pytest.fixture(scope="module")
def helper():
    h = Helper()
    yield h
    h.stop()


def _data(path):
    import xpcs_core as xc

    with xc.open_result(path) as res:
        return {"t": res.tau, "g2": res.g2, "g2_err": res.g2_err, "q": res.dynamic_q}


def test_a_fit_in_the_helper_equals_the_fit_here(helper, result_files):
    import xpcs_core as xc

    data = _data(result_files["nexus"])
    seen = []
    remote = helper.call("fit", {**data, "backend": "numpy"}, progress=lambda d, t: seen.append(d))
    local = xc.fit_g2(**data, backend="numpy")
    np.testing.assert_array_equal(remote.values, local.values)
    assert remote.tauq.D_A2_per_s == local.tauq.D_A2_per_s
    again = helper.call("fit", {**data, "backend": "numpy", "model": "stretched"})  # a second request
    assert again.model.name == "stretched"


def test_cancel_and_errors_are_typed(helper, result_files):
    data = _data(result_files["nexus"])
    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    with pytest.raises(XpcsCancelled):
        helper.call("fit", {**data, "backend": "numpy", "bayes": True, "draws": 10**6}, cancel=cancel)
    with pytest.raises(XpcsInputError, match="no q-bin within q range"):
        helper.call("fit", {**data, "backend": "numpy", "q_range": (5.0, 6.0)})


def test_the_helper_restarts_after_it_died(helper, result_files):
    data = _data(result_files["nexus"])
    threading.Timer(1.0, lambda: helper._proc.kill()).start()  # dies in the middle of a request
    with pytest.raises(XpcsError, match="stopped unexpectedly"):
        helper.call("fit", {**data, "backend": "numpy", "bayes": True, "draws": 10**6})
    fit = helper.call("fit", {**data, "backend": "numpy"})  # a new process answers
    assert fit.success.all()
