"""Fit set-up and bad input: NaN points, bad errors, short bins, ranges, fixed values."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.optimize import curve_fit

from xpcs_core import fit_g2
from xpcs_core.errors import XpcsInputError
from xpcs_core.fitting import FitWarning, build_problem

T = np.logspace(-5, 0, 40)
TAU = np.array([2e-4, 2e-3, 2e-2, 1e-1])
Q = np.array([0.02, 0.01, 0.005, 0.002])


def _data(seed=0):
    rng = np.random.default_rng(seed)
    g2 = 1.0 + 0.2 * np.exp(-2 * T[:, None] / TAU)
    err = np.full_like(g2, 0.003)
    return g2 + err * rng.standard_normal(g2.shape), err


def test_nan_points_are_dropped_per_bin():
    g2, err = _data()
    g2[5, 1] = np.nan
    g2[7, 1] = np.inf
    with pytest.warns(FitWarning, match="2 g2 point"):
        res = fit_g2(t=T, g2=g2, g2_err=err, q=Q, backend="numpy")
    assert res.success.all()
    np.testing.assert_array_equal(res.n_points, [40, 38, 40, 40])
    clean = fit_g2(t=np.delete(T, [5, 7]), g2=np.delete(g2[:, 1:2], [5, 7], axis=0),
                   g2_err=np.delete(err[:, 1:2], [5, 7], axis=0), backend="numpy", tauq=False)
    np.testing.assert_allclose(res.values[1], clean.values[0], rtol=1e-7)


def test_bad_errors_are_replaced_by_the_bin_median():
    g2, err = _data()
    err[3, 0] = 0.0
    err[4, 0] = -1.0
    err[5, 0] = np.nan
    err[:, 2] *= np.linspace(1, 2, 40)
    with pytest.warns(FitWarning, match="3 zero, negative or non-finite"):
        problem, _, _ = build_problem(T, g2, err, q=Q)
    np.testing.assert_allclose(problem.sigma[0, [3, 4, 5]], 0.003)
    assert problem.mask.all()


def test_bin_with_too_few_points_is_reported_while_others_fit():
    g2, err = _data()
    g2[2:, 3] = np.nan  # 2 points left
    with pytest.warns(FitWarning):
        res = fit_g2(t=T, g2=g2, g2_err=err, q=Q, backend="numpy")
    np.testing.assert_array_equal(res.success, [True, True, True, False])
    assert "too few points" in res.message[3]
    assert np.isnan(res.value("tau")[3])
    assert np.all(np.abs(res.value("tau")[:3] - TAU[:3]) < 4 * res.error("tau")[:3])


def test_without_errors_the_covariance_is_scaled_like_curve_fit():
    g2, _ = _data()
    with pytest.warns(FitWarning, match="unweighted"):
        res = fit_g2(t=T, g2=g2, g2_err=None, backend="numpy", tauq=False)

    def f(t, b, c, tau):
        return b + c * np.exp(-2 * t / tau)

    p, cov = curve_fit(f, T, g2[:, 1], p0=[1, 0.2, 2e-3], absolute_sigma=False)
    np.testing.assert_allclose(res.values[1], p, rtol=1e-5)
    np.testing.assert_allclose(res.errors[1], np.sqrt(np.diag(cov)), rtol=1e-3)


def test_ranges_select_bins_and_delays():
    g2, err = _data()
    res = fit_g2(t=T, g2=g2, g2_err=err, q=Q, q_range=(0.004, 0.015), t_range=(1e-4, 1.0), backend="numpy")
    np.testing.assert_array_equal(res.bin_index, [1, 2])
    np.testing.assert_allclose(res.q, [0.01, 0.005])
    assert res.t_range[0] >= 1e-4
    assert np.all(res.n_points == np.sum((T >= 1e-4) & (T <= 1.0)))
    with pytest.raises(XpcsInputError, match="no q-bin"):
        fit_g2(t=T, g2=g2, g2_err=err, q=Q, q_range=(1.0, 2.0))


def test_fixed_values_and_bounds_are_checked():
    g2, err = _data()
    with pytest.raises(XpcsInputError, match="no parameter 'gamma'"):
        fit_g2(t=T, g2=g2, g2_err=err, fix={"gamma": 1.0})
    with pytest.raises(XpcsInputError, match="lower"):
        fit_g2(t=T, g2=g2, g2_err=err, bounds={"contrast": (0.5, 0.1)})
    with pytest.raises(XpcsInputError, match="every parameter is fixed"):
        fit_g2(t=T, g2=g2, g2_err=err, fix={"baseline": 1, "contrast": 0.2, "tau": 1e-3})
    res = fit_g2(t=T, g2=g2, g2_err=err, fix={"baseline": 1.0}, backend="numpy", tauq=False)
    np.testing.assert_array_equal(res.value("baseline"), 1.0)
    assert res.free == ("contrast", "tau")


def test_shape_mismatch_is_an_input_error():
    g2, err = _data()
    with pytest.raises(XpcsInputError, match="shape"):
        fit_g2(t=T[:-1], g2=g2, g2_err=err)
    with pytest.raises(XpcsInputError, match="q has"):
        fit_g2(t=T, g2=g2, g2_err=err, q=Q[:2])


def test_no_warning_on_clean_data():
    g2, err = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitWarning)
        fit_g2(t=T, g2=g2, g2_err=err, q=Q, backend="numpy")
