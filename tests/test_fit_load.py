"""Stored fits read back: save_fit -> load_fit gives the same FitResult (least squares,
Bayesian, tau(q)); incomplete or corrupt groups raise XpcsFormatError naming file and key."""

from __future__ import annotations

import math
import shutil
import warnings

import h5py
import numpy as np
import pytest

from xpcs_core import fit_g2
from xpcs_core.cli.main import main
from xpcs_core.errors import XpcsFormatError
from xpcs_core.fitting import load_fit, stored_fits
from xpcs_core.fitting.load import stored_fit_info
from xpcs_core.io.synthetic import SyntheticSpec, write_synthetic

D_TRUE = 1e5
T = np.logspace(-5, 0, 40)


def _data(seed: int, n_bad: int = 0) -> dict:
    """g2 of a Brownian sample, tau = 1/(D q^2), with noise; ``n_bad`` NaN bins at the end."""
    rng = np.random.default_rng(seed)
    q = np.array([0.004, 0.006, 0.009, 0.013, 0.02])
    tau = 1.0 / (D_TRUE * q**2)
    err = np.full((T.size, q.size), 0.004)
    g2 = 1.0 + 0.25 * np.exp(-2 * T[:, None] / tau) + err * rng.standard_normal(err.shape)
    if n_bad:
        g2[:, -n_bad:] = np.nan
    return {"t": T, "g2": g2, "g2_err": err, "q": q}


@pytest.fixture(scope="module")
def lsq_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the NaN bin is reported with a FitWarning
        return fit_g2(**_data(1, n_bad=1), backend="numpy", fix={"baseline": 1.0})


@pytest.fixture(scope="module")
def bayes_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_g2(**_data(2), backend="numpy", bayes=True, warmup=500, draws=1500, seed=4)


def _saved(tmp_path, fit, name="fit.h5"):
    path = tmp_path / name
    fit.save(path)
    return path


def _assert_same(loaded, fit):
    """Every field that save_fit writes, and what is derived from them."""
    assert loaded.model is fit.model and loaded.free == fit.free
    for name in ("q", "bin_index", "values", "errors", "success", "chi2", "n_points", "cov", "lower", "upper"):
        a, b = getattr(loaded, name), getattr(fit, name)
        np.testing.assert_array_equal(a, b, err_msg=name)
        assert a.dtype.kind == np.asarray(b).dtype.kind, name
    assert loaded.message == fit.message
    assert loaded.t_range == fit.t_range
    assert loaded.provenance == fit.provenance
    assert loaded.notes() == fit.notes()
    np.testing.assert_array_equal(loaded.constrained(), fit.constrained())
    assert loaded.to_dict() == fit.to_dict()  # the JSON export, tau(q) included
    _assert_same_rows(loaded.csv_rows(), fit.csv_rows())
    # the model curve of every fitted bin, from the loaded parameters
    t = np.geomspace(1e-6, 10, 200)
    for b in np.flatnonzero(fit.success):
        p_new = {n: loaded.values[b, j] for j, n in enumerate(loaded.param_names)}
        p_old = {n: fit.values[b, j] for j, n in enumerate(fit.param_names)}
        np.testing.assert_allclose(loaded.model.fn(np, t, p_new), fit.model.fn(np, t, p_old), rtol=0, atol=0)


def _assert_same_rows(new, old):
    """CSV header and rows equal (NaN equal to NaN)."""
    assert new[0] == old[0] and len(new[1]) == len(old[1])
    for a, b in zip(new[1], old[1], strict=True):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            same = x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
            assert same, (x, y)


def _assert_same_tauq(new, old):
    assert new.param == old.param
    for name in ("q", "tau", "tau_err", "used"):
        np.testing.assert_array_equal(getattr(new, name), getattr(old, name))
    assert new.D_A2_per_s == old.D_A2_per_s and new.D_A2_per_s_err == old.D_A2_per_s_err
    assert new.brownian.as_dict() == old.brownian.as_dict()
    assert (new.free is None) == (old.free is None)
    if old.free is not None:
        assert new.free.as_dict() == old.free.as_dict() and new.free.a == old.free.a


def test_least_squares_round_trip(tmp_path, lsq_fit):
    assert lsq_fit.success.tolist() == [True, True, True, True, False]
    assert lsq_fit.tauq is not None and lsq_fit.lower is not None
    path = _saved(tmp_path, lsq_fit)
    assert stored_fits(path) == ["single"]
    loaded = load_fit(path, "single")
    _assert_same(loaded, lsq_fit)
    assert loaded.posterior is None and loaded.summary is None and loaded.diagnostics is None
    _assert_same_tauq(loaded.tauq, lsq_fit.tauq)
    assert loaded.tauq.D_A2_per_s == pytest.approx(D_TRUE, rel=0.1)  # the truth of the data
    assert math.isnan(loaded.error("baseline")[0])  # fixed: no error
    info = stored_fit_info(path, "single")
    assert info["backend"] == "numpy" and info["sampler"] is None and info["tauq"] is True
    assert info["created"] and info["created"][:2] == "20"


def test_bayesian_round_trip(tmp_path, bayes_fit):
    assert bayes_fit.tauq is not None and bayes_fit.tauq.brownian.method == "bayes"
    path = _saved(tmp_path, bayes_fit)
    loaded = load_fit(path, "single")
    _assert_same(loaded, bayes_fit)
    post, old = loaded.posterior, bayes_fit.posterior
    assert post.sampler == old.sampler == "emcee" and post.settings == old.settings
    assert list(post.draws) == list(old.draws)
    for name, arr in old.draws.items():
        np.testing.assert_array_equal(post.draws[name], arr)
    for name in set(old.sample_stats) & {"diverging", "energy"}:
        np.testing.assert_array_equal(post.sample_stats[name], old.sample_stats[name])
    assert loaded.summary.keys() == bayes_fit.summary.keys()
    for name, s in bayes_fit.summary.items():
        for k, v in s.items():
            np.testing.assert_array_equal(loaded.summary[name][k], v)
    d_new, d_old = loaded.diagnostics, bayes_fit.diagnostics
    assert d_new.keys() == d_old.keys()  # lsq_within_2sd recomputed as fit_g2 does
    for key, value in d_old.items():
        if isinstance(value, dict):
            for name, arr in value.items():
                np.testing.assert_array_equal(d_new[key][name], arr)
        else:
            np.testing.assert_array_equal(d_new[key], value)
            assert d_new[key].dtype.kind == value.dtype.kind, key
    _assert_same_rows(loaded.csv_rows(), bayes_fit.csv_rows())
    _assert_same_tauq(loaded.tauq, bayes_fit.tauq)
    assert loaded.tauq.brownian.draws["D"].shape == bayes_fit.tauq.brownian.draws["D"].shape
    idata = loaded.to_inference_data()
    np.testing.assert_array_equal(idata.posterior["tau"].values, old.draws["tau"])
    assert stored_fit_info(path, "single")["sampler"] == "emcee"


def test_tauq_from_the_stored_numbers_when_they_differ_from_a_refit(tmp_path, lsq_fit):
    """If the stored power law is not what a refit of its points gives, the stored numbers
    win; the free fit's prefactor (not stored) is its weighted least-squares value."""
    path = _saved(tmp_path, lsq_fit)
    old = lsq_fit.tauq
    with h5py.File(path, "r+") as f:
        t = f["xpcs/fit/single/tauq"]
        t.attrs["a"] = old.brownian.a * 1.01
        t.attrs["D_A2_per_s"] = old.D_A2_per_s / 1.01
    tq = load_fit(path, "single").tauq
    assert tq.brownian.a == old.brownian.a * 1.01 and tq.D_A2_per_s == old.D_A2_per_s / 1.01
    assert tq.free.alpha == old.free.alpha and tq.free.alpha_err == old.free.alpha_err
    assert tq.free.a == pytest.approx(old.free.a, rel=1e-9)


def test_group_without_bounds_loads(tmp_path, lsq_fit):
    """Groups written before ``bounds`` was stored: no bounds, everything else the same."""
    path = _saved(tmp_path, lsq_fit)
    with h5py.File(path, "r+") as f:
        del f["xpcs/fit/single/bounds"]
        del f["xpcs/fit/single"].attrs["created"]
    loaded = load_fit(path, "single")
    assert loaded.lower is None and loaded.upper is None
    np.testing.assert_array_equal(loaded.values, lsq_fit.values)
    assert stored_fit_info(path, "single")["created"] is None


def test_models_listed_in_file_order_and_cli_output_loads(tmp_path):
    src = tmp_path / "brownian.h5"
    write_synthetic(src, spec=SyntheticSpec.for_shape((64, 64), n_dyn=6, n_frames=2000, diffusion=D_TRUE, seed=0))
    assert stored_fits(src) == []
    out = tmp_path / "fitted.h5"
    main(["fit", str(src), "--backend", "numpy", "--model", "stretched", "-o", str(out)])
    main(["fit", str(out), "--backend", "numpy", "--in-place"])
    assert stored_fits(out) == ["single", "stretched"]
    with h5py.File(out, "r") as f:
        g = f["xpcs/fit/stretched"]
        stored_beta, stored_d = g["beta"][()], g["tauq"].attrs["D_A2_per_s"]
    fit = load_fit(out, "stretched")
    np.testing.assert_array_equal(fit.value("beta"), stored_beta)
    assert fit.tauq.D_A2_per_s == stored_d
    ref = fit_g2(src, model="stretched", backend="numpy")  # the same fit, made here
    np.testing.assert_allclose(fit.values, ref.values, rtol=1e-10)
    assert load_fit(out, "single").model.name == "single"


def _edit(path, fn):
    with h5py.File(path, "r+") as f:
        fn(f["xpcs/fit/single"])


BROKEN = {
    "a missing error": (lambda g: g.__delitem__("tau_err"), "/xpcs/fit/single/tau_err"),
    "cov of the wrong shape": (lambda g: (g.__delitem__("cov"), g.create_dataset("cov", data=np.zeros((5, 2)))),
                               "/xpcs/fit/single/cov"),
    "strings for numbers": (lambda g: (g.__delitem__("chi2"), g.create_dataset("chi2", data=np.array([b"x"] * 5))),
                            "/xpcs/fit/single/chi2"),
    "too few messages": (lambda g: (g.__delitem__("message"), g.create_dataset("message", data=np.array([b"ok"]))),
                         "/xpcs/fit/single/message"),
    "no parameter list": (lambda g: g.attrs.__delitem__("params"), "/xpcs/fit/single"),
    "an unknown model": (lambda g: g.attrs.__setitem__("model", "nosuchmodel"), "/xpcs/fit/single"),
    "bad provenance": (lambda g: g.attrs.__setitem__("provenance", "{not json"), "/xpcs/fit/single"),
    "tau(q) without used": (lambda g: g["tauq"].__delitem__("used"), "/xpcs/fit/single/tauq/used"),
    "tau(q) without D": (lambda g: g["tauq"].attrs.__delitem__("D_A2_per_s"), "/xpcs/fit/single/tauq"),
    "a newer format": (lambda g: g.attrs.__setitem__("format_version", 99), "/xpcs/fit/single"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_partial_groups_raise_format_errors(tmp_path, lsq_fit, case):
    edit, key = BROKEN[case]
    path = _saved(tmp_path, lsq_fit)
    _edit(path, edit)
    with pytest.raises(XpcsFormatError) as info:
        load_fit(path, "single")
    err = info.value
    assert err.key == key and err.path == str(path)
    assert "\n" not in str(err) and str(path) in str(err) and key in str(err)


def test_partial_posterior_raises(tmp_path, bayes_fit):
    path = _saved(tmp_path, bayes_fit)
    shutil.copy(path, tmp_path / "b.h5")
    _edit(path, lambda g: g["posterior"].__delitem__("tau_sd"))
    with pytest.raises(XpcsFormatError, match="tau_sd") as info:
        load_fit(path, "single")
    assert info.value.key == "/xpcs/fit/single/posterior/tau_sd"
    _edit(tmp_path / "b.h5", lambda g: g["posterior"].__delitem__("converged"))
    with pytest.raises(XpcsFormatError) as info:
        load_fit(tmp_path / "b.h5", "single")
    assert info.value.key == "/xpcs/fit/single/posterior/converged"


def test_missing_truncated_and_misplaced(tmp_path, lsq_fit):
    path = _saved(tmp_path, lsq_fit)
    with pytest.raises(XpcsFormatError, match="no stored fit of model 'double'") as info:
        load_fit(path, "double")
    assert info.value.key == "/xpcs/fit/double"
    cut = tmp_path / "cut.h5"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    for fn in (stored_fits, lambda p: load_fit(p, "single")):
        with pytest.raises(XpcsFormatError) as info:
            fn(cut)
        assert str(cut) in str(info.value) and "\n" not in str(info.value)
    odd = tmp_path / "odd.h5"
    with h5py.File(odd, "w") as f:
        f.create_group("xpcs").create_dataset("fit", data=1)
    with pytest.raises(XpcsFormatError) as info:
        stored_fits(odd)
    assert info.value.key == "/xpcs/fit"
