"""Q-map tab: draw masks (shapes, ring, threshold), recompute the partition, save it."""

from __future__ import annotations

import numpy as np

from tests.gui.support import open_files, wait_idle


def test_draw_a_mask_and_recompute_the_partition(qtbot, window, result_files, tmp_path):
    import xpcs_core as xc
    from xpcs_core import masks

    open_files(qtbot, window, result_files["nexus"])
    view = window.show_tab("qmap")
    wait_idle(qtbot, window)
    res = window.session.current
    h, w = res.detector_shape
    file_mask = np.asarray(res.qmap.mask, dtype=bool)
    assert np.array_equal(view.editor.mask(), file_mask)
    # a rectangle given directly, and an interactive circle applied like a click on "Apply shapes"
    assert view.add_region("rectangle", (10, 20, 40, 50))
    roi = view.add_roi("circle")
    roi.setPos((60.5, 60.5))
    roi.setSize((20, 20))  # centre (70, 70) in pixel-centre coordinates, radius 10
    assert view.apply_rois()
    assert not [i for i in view.plot.items if hasattr(i, "handles")]  # the ROI is gone from the view
    expected = file_mask & ~masks.rectangle((h, w), 10, 20, 40, 50) & ~masks.circle((h, w), 70, 70, 10)
    np.testing.assert_array_equal(view.editor.mask(), expected)
    view.th_hi.setText(str(float(np.percentile(res.saxs_2d, 99.5))))
    view._threshold_clicked()
    assert view.editor.mask().sum() < expected.sum()
    view.undo()
    np.testing.assert_array_equal(view.editor.mask(), expected)
    view.n_dq.setValue(6)
    view.n_sq.setValue(30)
    view.scale.setCurrentText("linear")
    job = view.recompute()
    qtbot.waitUntil(lambda: job.state in ("done", "failed"), timeout=60000)
    wait_idle(qtbot, window)
    assert window.errors == [] and view.partition is not None
    part = view.partition
    assert part.dynamic.n_labels <= 6 and part.static.n_labels <= 30
    assert not (part.dynamic.labels[~expected] > 0).any()  # masked pixels are in no bin
    assert (part.dynamic.labels[expected] > 0).mean() > 0.5
    out = view.save_qmap(tmp_path / "edited_qmap.h5")
    back = xc.read_qmap(out)
    np.testing.assert_array_equal(back.dynamic.labels, part.dynamic.labels)
    np.testing.assert_array_equal(back.mask, part.mask)
    for which in ("static", "mask", "SAXS + mask"):
        view.display.setCurrentText(which)
        wait_idle(qtbot, window)
    assert window.errors == []


def test_a_ring_needs_and_uses_the_q_map(qtbot, window, result_files):
    open_files(qtbot, window, result_files["legacy"])
    view = window.show_tab("qmap")
    qtbot.waitUntil(lambda: view.maps is not None or window.session.current_path in window.session._maps,
                    timeout=30000)
    view.maps = window.session._maps[window.session.current_path]
    q = view.maps["q"]
    lo, hi = np.percentile(q, [40, 60])
    view.ring_lo.setText(str(lo))
    view.ring_hi.setText(str(hi))
    before = view.editor.mask().copy()
    view._ring_clicked()
    ring = (q >= lo) & (q <= hi)
    np.testing.assert_array_equal(view.editor.mask(), before & ~ring)
