"""Fits stored in a result file (``xpcs fit -o`` / ``--in-place``) show in the viewer
without refitting: table, g2 curves, tau(q) and D, labelled as stored; a model selector
when several are stored; a fit made in the viewer replaces the stored one."""

from __future__ import annotations

import shutil
import warnings

import h5py
import numpy as np
import pytest

from tests.gui.support import open_files, wait_idle
from xpcs_core.gui.views.fit_table import _fmt


def _fitted_copy(src, dst, *models, **kw):
    """A copy of ``src`` with the fits of ``models`` stored (in file order)."""
    import xpcs_core as xc

    shutil.copy(src, dst)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for model in models:
            xc.fit_g2(dst, model=model, backend="numpy", **kw).save(dst, source=dst, in_place=True)
    return dst


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, result_files):
    """``one``: a copy of the nexus file with a single fit; ``two``: single and stretched
    (legacy layout); ``bayes``: a Bayesian single fit of a few bins."""
    d = tmp_path_factory.mktemp("stored")
    return {
        "one": _fitted_copy(result_files["nexus"], d / "one.h5", "single"),
        "two": _fitted_copy(result_files["legacy"], d / "two.hdf", "stretched", "single"),
        "bayes": _fitted_copy(result_files["repeat"], d / "bayes.h5", "single", bayes=True,
                              q_range=(0.005, 0.009), chains=8, warmup=60, draws=150),
    }


def _column(table, header):
    names = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    return names.index(header)


def _stored(path, model):
    with h5py.File(path, "r") as f:
        g = f[f"xpcs/fit/{model}"]
        return {k: g[k][()] for k in ("tau", "tau_err", "contrast", "bin_index")}, dict(g["tauq"].attrs)


def test_stored_fit_shows_in_every_view_and_a_new_fit_replaces_it(qtbot, window, fitted):
    path = fitted["one"]
    open_files(qtbot, window, path)
    session, key = window.session, window.session.current_path
    fit_view = window.show_tab("fit")
    data, tq = _stored(path, "single")
    fit = session.fit_of(key)
    assert fit is not None and session.stored_shown[key] == "single" and session.stored[key] == ["single"]
    np.testing.assert_array_equal(fit.value("tau"), data["tau"])  # read, not refitted
    label = fit_view.source_label.text()
    assert label.startswith("stored fit: single, numpy, 20") and "UTC" in label
    table = fit_view.table
    assert table.rowCount() == data["tau"].size
    c_tau, c_contrast = _column(table, "tau"), _column(table, "contrast")
    for b in range(table.rowCount()):
        assert table.item(b, 0).text() == str(data["bin_index"][b])
        assert table.item(b, c_tau).text() == f"{_fmt(data['tau'][b])} ± {_fmt(data['tau_err'][b], 2)}"
        assert table.item(b, c_contrast).text().startswith(_fmt(data["contrast"][b]) + " ± ")
    assert fit_view.stored_box.isVisibleTo(fit_view) and fit_view.stored_box.currentText() == "single"
    diffusion = window.show_tab("diffusion")
    text = diffusion.summary.text()
    assert text.splitlines()[0] == label and f"D = {tq['D_A2_per_s']:.4g} ± " in text
    assert fit.tauq.D_A2_per_s == tq["D_A2_per_s"]
    assert any(c.style == "line" for c in diffusion.panel.curves)  # the power laws
    g2 = window.show_tab("g2")
    lines = [c for p in g2.grid.panels for c in p.curves if c.style == "line"]
    assert len(lines) == len(g2.grid.panels)  # one fit curve per panel
    assert window.errors == []

    fit_view = window.show_tab("fit")  # a fit made here replaces the stored one
    fit_view.params.set_row("baseline", fix=True, value=1.0)
    assert fit_view.start_fit(bayes=False) is not None
    wait_idle(qtbot, window)
    new = session.fit_of(key)
    assert new is not fit and new.free == ("contrast", "tau") and key not in session.stored_shown
    assert fit_view.source_label.text().startswith("fit made here: single")
    assert table.item(0, c_tau).text().startswith(_fmt(new.value("tau")[0]))
    assert not np.array_equal(new.value("tau"), data["tau"])
    diffusion = window.show_tab("diffusion")
    assert "stored fit" not in diffusion.summary.text()
    assert f"D = {new.tauq.D_A2_per_s:.4g}" in diffusion.summary.text()

    fit_view = window.show_tab("fit")  # and the stored one can be shown again
    fit_view.stored_box.activated.emit(0)
    wait_idle(qtbot, window)
    assert session.fit_of(key) is fit and fit_view.source_label.text() == label
    assert window.errors == []


def test_several_stored_models_have_a_selector(qtbot, window, fitted):
    path = fitted["two"]
    open_files(qtbot, window, path)
    key = window.session.current_path
    fit_view = window.show_tab("fit")
    box = fit_view.stored_box
    assert [box.itemText(i) for i in range(box.count())] == ["single", "stretched"]  # file order
    assert window.session.fit_of(key).model.name == "single"
    box.activated.emit(1)
    wait_idle(qtbot, window)
    fit = window.session.fit_of(key)
    assert fit.model.name == "stretched" and box.currentText() == "stretched"
    assert fit_view.source_label.text().startswith("stored fit: stretched, numpy")
    with h5py.File(path, "r") as f:
        beta = f["xpcs/fit/stretched/beta"][()]
    c_beta = _column(fit_view.table, "beta")
    assert [fit_view.table.item(b, c_beta).text().split(" ± ")[0] for b in range(beta.size)] == \
        [_fmt(v) for v in beta]
    assert window.errors == []


def test_stored_bayesian_fit_shows_its_diagnostics(qtbot, window, fitted):
    path = fitted["bayes"]
    open_files(qtbot, window, path)
    fit_view = window.show_tab("fit")
    wait_idle(qtbot, window, timeout=120)  # the posterior plot of the first sampled bin
    fit = window.session.fit_of(window.session.current_path)
    assert fit.posterior is not None and fit_view.source_label.text().startswith("stored fit: single, numpy (emcee)")
    with h5py.File(path, "r") as f:
        converged = f["xpcs/fit/single/posterior/converged"][()]
    column = _column(fit_view.table, "converged")
    assert [fit_view.table.item(b, column).text() for b in range(converged.size)] == \
        ["yes" if c else "no" for c in converged]
    assert window.errors == []


def test_a_file_without_fits_shows_none(qtbot, window, result_files):
    open_files(qtbot, window, result_files["nexus"])
    key = window.session.current_path
    fit_view = window.show_tab("fit")
    assert window.session.fit_of(key) is None and window.session.stored[key] == []
    assert not fit_view.stored_box.isVisibleTo(fit_view) and fit_view.table.rowCount() == 0
    assert fit_view.source_label.text() == "no fit yet"
    assert "stored" not in window.show_tab("diffusion").summary.text()
    assert window.errors == []


def test_a_broken_fit_group_is_reported_and_the_file_opens(qtbot, window, fitted, tmp_path):
    path = shutil.copy(fitted["one"], tmp_path / "broken.h5")
    with h5py.File(path, "r+") as f:
        del f["xpcs/fit/single/tau_err"]
    open_files(qtbot, window, path)
    key = window.session.current_path
    assert window.session.current is not None and window.session.fit_of(key) is None
    assert len(window.errors) == 1
    assert "broken.h5" in window.errors[0] and "/xpcs/fit/single/tau_err" in window.errors[0]
    fit_view = window.show_tab("fit")
    assert fit_view.stored_box.count() == 1  # still listed
    assert fit_view.source_label.text() == "no fit shown: choose a stored fit"


def test_reload_after_fitting_on_the_command_line(qtbot, window, result_files, tmp_path):
    """Fit in place while the file is open, Reload: the stored fit shows; a fit made in
    the viewer is kept over it at the next reload."""
    import xpcs_core as xc

    path = shutil.copy(result_files["nexus"], tmp_path / "live.h5")
    open_files(qtbot, window, path)
    session, key = window.session, window.session.current_path
    assert session.fit_of(key) is None
    stored = xc.fit_g2(path, backend="numpy")
    stored.save(path, source=path, in_place=True)
    window.files.reload()
    wait_idle(qtbot, window)
    assert session.stored_shown.get(key) == "single"
    np.testing.assert_array_equal(session.fit_of(key).values, stored.values)
    fit_view = window.show_tab("fit")
    assert fit_view.source_label.text().startswith("stored fit: single")
    fit_view.start_fit()
    wait_idle(qtbot, window)
    mine = session.fit_of(key)
    window.files.reload()
    wait_idle(qtbot, window)
    assert session.fit_of(key) is mine and key not in session.stored_shown
    assert window.errors == []
