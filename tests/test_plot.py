"""xpcs_core.plot: the preparation layer against brute force, and the matplotlib figures
(content, number of panels, files written)."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import xpcs_core as xc
from xpcs_core.errors import XpcsInputError
from xpcs_core.plot import g2 as pg2
from xpcs_core.plot import prepare, saxs

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from xpcs_core.io.synthetic import SyntheticSpec, write_synthetic

    d = tmp_path_factory.mktemp("plot")
    out = {}
    for layout, name in (("nexus", "a.h5"), ("legacy", "b.hdf")):
        spec = SyntheticSpec.for_shape((64, 64), n_dyn=6, n_frames=1000, twotime=True, seed=3)
        write_synthetic(d / name, layout=layout, spec=spec)
        out[layout] = d / name
    return out


@pytest.fixture(scope="module")
def fit(files):
    return xc.fit_g2(files["nexus"], backend="numpy")


def _with_posterior(fit, n_draws=400, seed=0):
    """A FitResult with a Gaussian posterior around the least-squares point (known answer)."""
    from xpcs_core.fitting.problem import PosteriorDraws

    rng = np.random.default_rng(seed)
    draws = {}
    for name in fit.free:
        j = fit.model.index(name)
        v, e = fit.values[:, j], np.nan_to_num(fit.errors[:, j], nan=0.0)
        draws[name] = v[None, None, :] + e[None, None, :] * rng.normal(size=(2, n_draws // 2, fit.n_bins)) * 0.3
    import dataclasses

    post = PosteriorDraws(draws=draws, sample_stats={"lp": np.zeros((2, n_draws // 2, fit.n_bins))},
                          sampler="fake", settings={})
    return dataclasses.replace(fit, posterior=post)


def test_importing_the_package_is_cheap():
    code = ("import sys, json, xpcs_core.plot, xpcs_core.plot.prepare, xpcs_core.plot.g2, xpcs_core.plot.saxs\n"
            "print(json.dumps([m for m in ('matplotlib', 'arviz', 'PySide6') if m in sys.modules]))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1]) == []


# ------------------------------------------------------------------ preparation
def test_bin_selection():
    q = np.array([0.001, 0.002, np.nan, 0.004, 0.005, 0.006])
    assert prepare.select_bins(q).tolist() == [0, 1, 3, 4, 5]
    assert prepare.select_bins(q, q_range=(0.0015, 0.0055)).tolist() == [1, 3, 4]
    assert prepare.select_bins(q, max_panels=3).tolist() == [0, 3, 5]
    assert prepare.select_bins(q, bins=[5, 0]).tolist() == [5, 0]
    assert prepare.parse_bins("0-2, 5", 6) == [0, 1, 2, 5]
    with pytest.raises(XpcsInputError, match="bin 6 does not exist"):
        prepare.select_bins(q, bins=[6])
    with pytest.raises(XpcsInputError, match="cannot read"):
        prepare.parse_bins("a-b", 6)


def test_downsampling_is_a_block_mean_ignoring_nan():
    rng = np.random.default_rng(1)
    img = rng.random((2167, 2070))
    img[5, 7] = np.nan
    small, step = prepare.downsample(img, 1024)
    assert step == 3 and small.shape == (723, 690)
    np.testing.assert_allclose(small[1, 2], img[3:6, 6:9][np.isfinite(img[3:6, 6:9])].mean())
    np.testing.assert_allclose(small[-1, -1], img[2166:, 2067:].mean())  # a partial edge block
    labels, lstep = prepare.downsample_labels(np.arange(2167 * 2070).reshape(2167, 2070), 1024)
    assert lstep == 3 and labels[1, 1] == 3 * 2070 + 3


def test_colour_levels():
    data = np.arange(1001.0)
    assert prepare.color_levels(data, percentiles="98%") == pytest.approx((10.0, 990.0))
    assert prepare.color_levels(data, percentiles=(0, 100)) == (0.0, 1000.0)
    assert prepare.color_levels(data, levels=(3, 4)) == (3.0, 4.0)
    with pytest.raises(XpcsInputError, match="low < high"):
        prepare.color_levels(data, levels=(4, 3))
    with pytest.raises(XpcsInputError, match="preset"):
        prepare.color_levels(data, percentiles="97%")


def test_g2_grid_against_the_file_and_the_fit(files, fit):
    with xc.open_result(files["nexus"]) as res:
        grid = pg2.g2_grid(res, fits=fit, bins=[1, 4], every=3, y_range=(0.9, 1.3))
        assert [p.key for p in grid.panels] == [1, 4] and grid.y_range == (0.9, 1.3)
        data, line = grid.panels[1].curves
        np.testing.assert_array_equal(data.x, res.tau[::3])
        np.testing.assert_array_equal(data.y, res.g2[::3, 4])
        np.testing.assert_array_equal(data.err, res.g2_err[::3, 4])
        b, c, tau = fit.values[4]
        np.testing.assert_allclose(line.y, b + c * np.exp(-2 * line.x / tau))
        assert [label for label, _ in grid.legend] == ["a.h5", "fit"]
        with xc.open_result(files["legacy"]) as other:
            both = pg2.g2_grid([res, other], max_panels=4)
        assert len(both.panels) == 4 and [c.label for c in both.panels[0].curves] == ["a.h5", "b.hdf"]
        seg = pg2.g2_grid(res, segments=True, bins=[0])
        np.testing.assert_array_equal(seg.panels[0].curves[2].y, res.g2_segments[2, :, 0])


def test_posterior_band_is_the_central_interval_of_the_model_curves(files, fit):
    post_fit = _with_posterior(fit)
    t = np.geomspace(1e-3, 1.0, 30)
    lo, hi = pg2.posterior_band(post_fit, 3, t, level=0.95, n_draws=400)
    d = {n: post_fit.posterior.draws[n][:, :, 3].reshape(-1) for n in post_fit.free}
    curves = d["baseline"][:, None] + d["contrast"][:, None] * np.exp(-2 * t[None] / d["tau"][:, None])
    np.testing.assert_allclose(lo, np.percentile(curves, 2.5, axis=0))
    np.testing.assert_allclose(hi, np.percentile(curves, 97.5, axis=0))
    with xc.open_result(files["nexus"]) as res:
        grid = pg2.g2_grid(res, fits=post_fit)
    assert all(p.bands for p in grid.panels) and ("95% posterior", prepare.FIT_COLOR) in grid.legend


def test_tauq_panel_shows_the_power_laws_and_d(fit):
    panel = pg2.tauq_panel(fit)
    tq = fit.tauq
    brownian = next(c for c in panel.curves if c.label.startswith("α = 2"))
    np.testing.assert_allclose(brownian.y, tq.brownian.a * brownian.x**-2.0)
    assert f"D = {tq.D_A2_per_s:.4g}" in panel.text
    with_r = xc.fit_tauq(fit, temperature=298.0, viscosity=8.9e-4)
    assert "R = " in pg2.diffusion_text(with_r)
    assert pg2.tauq_panel(None).text == "no fit yet"


def test_twotime_view_g2_is_the_diagonal_mean(files):
    with xc.open_result(files["legacy"]) as res:
        label = int(res.twotime_bins[1])
        view = pg2.twotime_view(res, label, smooth=2.0)
        c2 = res.c2(label)
        assert view.image.full_shape == c2.shape and view.labels == [int(b) for b in res.twotime_bins]
        direct = np.array([np.diagonal(c2, k).mean() for k in range(c2.shape[0])])
        np.testing.assert_allclose(view.g2.curves[0].y, direct[1:], rtol=1e-5)
        assert not np.allclose(view.image.data, c2)  # smoothed for display only
    with pytest.raises(XpcsInputError, match="no two-time"):
        pg2.twotime_view(SimpleNamespace(analysis=["multitau"], path="x.h5"))


def test_saxs_panels(files):
    with xc.open_result(files["nexus"]) as res:
        plain = saxs.saxs1d_panel(res)
        q2 = saxs.saxs1d_panel(res, weighting="q2")
        np.testing.assert_allclose(q2.curves[0].y, plain.curves[0].y * plain.curves[0].x**2)
        assert np.all(np.diff(plain.curves[0].x) > 0)
        img = saxs.saxs2d_image(res, log=False, max_side=32)
        assert img.step == 2 and img.data.shape == (32, 32) and img.full_shape == (64, 64)
        stab = saxs.stability_panel(res)
        assert len(stab.curves) == res.saxs_1d_segments.shape[0]
        ratio = saxs.stability_panel(res, relative=True)  # the synthetic drift: 1 +- 1 % over the run
        np.testing.assert_allclose([np.nanmean(c.y) for c in ratio.curves], [0.99, 0.99 + 0.02 / 3,
                                                                            1.01 - 0.02 / 3, 1.01], rtol=1e-6)
        with pytest.raises(XpcsInputError, match="positive limits"):
            saxs.saxs2d_image(res, levels=(0.0, 1.0))
    t = np.arange(4000.0)
    fake = SimpleNamespace(path="f.h5", frame_time=1e-3,
                           intensity_vs_time=np.vstack([t, 1.0 + 0.1 * np.sin(2 * np.pi * 50.0 * t * 1e-3)]))
    top, fft = saxs.intensity_panels(fake, max_points=10**6)
    assert top.curves[0].x[-1] == pytest.approx(3.999)
    peak = fft.curves[0].x[np.argmax(fft.curves[0].y)]
    assert peak == pytest.approx(50.0, abs=0.5)


# ------------------------------------------------------------------ figures
def test_figures_have_the_right_panels(files, fit):
    from xpcs_core.plot import figure, panels

    assert len(panels(figure("g2", files["nexus"], max_panels=5))) == 5
    assert len(panels(figure("fit", files["nexus"], fit=fit, max_panels=4))) == 5
    assert len(panels(figure("tauq", fit))) == 1
    assert len(panels(figure("intensity", files["nexus"]))) == 2
    assert len(panels(figure("twotime", files["legacy"]))) == 2
    assert len(panels(figure("overview", files["nexus"]))) == 4
    assert len(panels(figure("saxs1d", [files["nexus"], files["legacy"]], offset=3.0))) == 1
    fig = figure("saxs2d", files["legacy"])
    assert len(panels(fig)) == 1 and len(fig.axes) == 2  # the image and its colour bar
    g2_axes = panels(figure("g2", files["nexus"], fit=fit, bins=[2]))
    assert len(g2_axes[0].lines) >= 1 and g2_axes[0].get_xscale() == "log"


def test_posterior_figures_via_arviz(fit):
    pytest.importorskip("arviz")
    from xpcs_core.plot import figure, panels

    post_fit = _with_posterior(fit)
    n = len(post_fit.free)
    assert len(panels(figure("posterior", post_fit, column=2, style="trace"))) == 2 * n
    assert len(panels(figure("posterior", post_fit, column=2))) == n * (n + 1) // 2  # corner: lower triangle
    with pytest.raises(XpcsInputError, match="no posterior"):
        figure("posterior", fit)


def test_save_figure_writes_png_and_pdf_with_content(files, fit, tmp_path):
    from matplotlib.image import imread

    from xpcs_core.plot import save_figure

    png = save_figure("fit", files["nexus"], tmp_path / "fit.png", fit=fit, dpi=50, max_panels=4)
    img = imread(png)
    assert img.shape[0] > 100 and img[..., :3].std() > 0.05
    pdf = save_figure("overview", files["legacy"], tmp_path / "info.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000
    fit_only = save_figure("g2", fit, tmp_path / "from_fit.svg", max_panels=2)  # the fit names its source
    assert b"<svg" in fit_only.read_bytes()[:500]
    with pytest.raises(XpcsInputError, match="must end in"):
        save_figure("g2", files["nexus"], tmp_path / "x.jpg")
    with pytest.raises(XpcsInputError, match="unknown figure kind"):
        save_figure("bananas", files["nexus"], tmp_path / "x.png")
    with pytest.raises(XpcsInputError, match="needs a fit"):
        save_figure("tauq", files["nexus"], tmp_path / "x.png")
    with pytest.raises(XpcsInputError, match="does not exist"):
        save_figure("g2", files["nexus"], tmp_path / "nowhere" / "x.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.png", "from_fit.svg", "info.pdf"]
