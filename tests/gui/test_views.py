"""Every tab draws synthetic files of both layouts; what it draws matches the file."""

from __future__ import annotations

import numpy as np
import pytest

from tests.gui.support import open_files, pixel_std, wait_idle
from xpcs_core.gui import TAB_NAMES


def test_tab_names_match_the_views():
    from xpcs_core.gui.views import VIEW_CLASSES

    assert TAB_NAMES == tuple(cls.name for cls in VIEW_CLASSES)


@pytest.mark.parametrize("layout", ["nexus", "legacy"])
def test_every_tab_draws_both_layouts(qtbot, window, result_files, layout):
    import xpcs_core as xc

    path = result_files[layout]
    open_files(qtbot, window, path)
    with xc.open_result(path) as res:
        n_dyn, analysis = res.g2.shape[1], res.analysis
        saxs_shape = res.saxs_2d.shape
        c2_bins = list(res.twotime_bins)
    for name in TAB_NAMES:
        view = window.show_tab(name)
        wait_idle(qtbot, window)
        assert window.errors == [], f"{name}: {window.errors}"
        assert pixel_std(view.grab()) > 5, f"{name} looks blank"
    v = window.views
    assert v["saxs-2d"].image.full_shape == saxs_shape
    assert len(v["g2"].shown) == min(16, n_dyn) == len(v["g2"].grid.panels)
    assert v["saxs-1d"].panel.curves and v["intensity"].panels[0].curves
    if layout == "nexus":  # the legacy writer keeps no segments
        assert len(v["stability"].panel.curves) == 4
    assert v["two-time"].view.labels == c2_bins and "twotime" in analysis
    assert v["metadata"].tree.topLevelItemCount() >= 2
    assert v["average"].table.rowCount() == 1


def test_g2_options_select_bins_points_and_range(qtbot, window, result_files):
    open_files(qtbot, window, result_files["nexus"])
    view = window.show_tab("g2")
    view.bins.setText("1-3")
    view.every.setValue(2)
    view.y_min.setText("0.9")
    view.y_max.setText("1.3")
    view.redraw()
    grid = view.grid
    assert [p.key for p in grid.panels] == [1, 2, 3] and len(view.shown) == 3
    res = window.session.current
    np.testing.assert_array_equal(grid.panels[0].curves[0].x, res.tau[::2])
    np.testing.assert_array_equal(grid.panels[0].curves[0].y, res.g2[::2, 1])
    assert grid.y_range == (0.9, 1.3)
    (y0, y1) = view.shown[0].getViewBox().viewRange()[1]
    assert y0 == pytest.approx(0.9) and y1 == pytest.approx(1.3)
    view.bins.setText("")
    view.max_panels.setValue(3)
    view.page.setValue(2)  # bins 3, 4, 5
    assert [p.key for p in view.grid.panels] == [3, 4, 5]
    view.page.setValue(0)
    view.segments.setChecked(True)
    assert [c.label for c in view.grid.panels[0].curves] == [f"segment_{i}" for i in range(1, 5)]


def test_several_files_overlay_with_one_legend(qtbot, window, result_files):
    open_files(qtbot, window, result_files["nexus"], result_files["repeat"])
    g2 = window.show_tab("g2")
    wait_idle(qtbot, window)
    assert [c.label for c in g2.grid.panels[0].curves] == ["nexus.h5", "repeat.h5"]
    assert "nexus.h5" in g2.legend.text() and "repeat.h5" in g2.legend.text()
    s1 = window.show_tab("saxs-1d")
    s1.offset.setValue(10.0)
    a, b = s1.panel.curves
    np.testing.assert_allclose(b.y / 10.0, window.session.results[window.session.selected[1]].saxs_1d[
        np.argsort(window.session.results[window.session.selected[1]].static_q, kind="stable")])
    assert a.label == "nexus.h5"


def test_saxs2d_colour_range_and_readout(qtbot, window, result_files):
    open_files(qtbot, window, result_files["nexus"])
    view = window.show_tab("saxs-2d")
    wait_idle(qtbot, window)
    view.preset.setCurrentText("manual")
    view.vmin.setText("0.1")
    view.vmax.setText("2")
    view.redraw()
    wait_idle(qtbot, window)
    assert view.image.levels == pytest.approx((-1.0, np.log10(2.0)))
    view.log.setChecked(False)
    wait_idle(qtbot, window)
    assert view.image.levels == pytest.approx((0.1, 2.0))
    res = window.session.current
    qtbot.waitUntil(lambda: view.maps is not None or window.session._maps, timeout=20000)
    view.maps = window.session._maps[window.session.current_path]
    from xpcs_core.plot.saxs import pixel_readout

    text = pixel_readout(res, 40, 50, view.maps)
    assert f"I = {res.saxs_2d[40, 50]:.4g}" in text and "row 40, col 50" in text and "q = " in text
