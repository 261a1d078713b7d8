"""The viewer as an application: screenshots, exit status, errors, settings, the file
panel, drag and drop, the Correlate and Average actions."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from tests.gui.support import open_files, pixel_std, wait_idle


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XPCS_")}
    env.update(QT_QPA_PLATFORM="offscreen", XPCS_BACKEND="numpy")
    return env


def test_screenshots_of_named_tabs_are_not_blank(result_files, tmp_path):
    from matplotlib.image import imread

    out = tmp_path / "shots"
    cmd = [sys.executable, "-m", "xpcs_core.cli.main", "gui", str(result_files["legacy"]), "--screenshot", str(out),
           "--tab", "g2", "--tab", "SAXS 2D", "--tab", "two-time", "--settings", str(tmp_path / "s.ini")]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=_env())
    assert run.returncode == 0, run.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["g2.png", "saxs-2d.png", "two-time.png"]
    for p in out.iterdir():
        img = imread(p)
        assert img.shape[0] > 500 and img.shape[1] > 800
        assert img[..., :3].std() > 0.05, f"{p.name} looks blank"
    bad = subprocess.run([sys.executable, "-m", "xpcs_core.gui", str(tmp_path / "missing.h5"), "--screenshot",
                          str(out)], capture_output=True, text=True, timeout=300, env=_env())
    assert bad.returncode == 2 and "missing.h5" in bad.stderr


QUIT_SCRIPT = """
import sys
from PySide6.QtCore import QTimer, Qt
from PySide6.QtTest import QTest
from xpcs_core.gui import mainwindow
from xpcs_core.gui.app import run

how = sys.argv[1]
original = mainwindow.MainWindow.show

def show(self):
    original(self)
    def later():
        if how == "ctrl-q":
            self.activateWindow()
            QTest.keyClick(self, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
        else:
            self.close()  # what the window manager's close button does
    # again every 0.8 s until it quits: a shortcut reaches only the active window, and on
    # a cold start the offscreen platform may not have activated it at the first try
    timer = QTimer(self)
    timer.timeout.connect(later)
    timer.start(800)

mainwindow.MainWindow.show = show
sys.exit(run([sys.argv[2]], settings_path=sys.argv[3]))
"""


@pytest.mark.parametrize("how", ["ctrl-q", "close-button"])
def test_quit_exits_with_status_0(result_files, tmp_path, how):
    script = tmp_path / "quit.py"
    script.write_text(textwrap.dedent(QUIT_SCRIPT))
    run = subprocess.run([sys.executable, str(script), how, str(result_files["nexus"]), str(tmp_path / "s.ini")],
                         capture_output=True, text=True, timeout=300, env=_env())
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "s.ini").read_text().count("geometry") >= 1  # settings saved on the way out


def test_a_bad_file_gives_a_message_box_naming_it(qtbot, tmp_path, settings_path):
    from PySide6.QtWidgets import QMessageBox

    from xpcs_core.gui.mainwindow import MainWindow
    from xpcs_core.gui.settings import make_settings

    win = MainWindow(make_settings(settings_path), interactive=True, warm_up=False)
    qtbot.addWidget(win)
    win.show()
    bad = tmp_path / "broken.h5"
    bad.write_bytes(b"this is not HDF5")
    win.open_paths([str(bad)])
    qtbot.waitUntil(lambda: bool(win.errors), timeout=20000)
    assert "broken.h5" in win.errors[0]
    boxes = [b for b in win._boxes if isinstance(b, QMessageBox) and b.isVisible()]
    assert boxes and "broken.h5" in boxes[0].text()
    assert win.session.selection == []
    win.close()


def test_settings_persist(qtbot, result_files, settings_path):
    from xpcs_core.gui.mainwindow import MainWindow
    from xpcs_core.gui.settings import make_settings

    a = MainWindow(make_settings(settings_path), interactive=False)
    qtbot.addWidget(a)
    a.views["g2"].every.setValue(3)
    a.views["saxs-2d"].cmap.setCurrentText("magma")
    a.show_tab("saxs-1d")
    a.remember_folder(str(result_files["nexus"].parent))
    a.close()
    b = MainWindow(make_settings(settings_path), interactive=False)
    qtbot.addWidget(b)
    assert b.views["g2"].every.value() == 3
    assert b.views["saxs-2d"].cmap.currentText() == "magma"
    assert b.current_view().name == "saxs-1d"
    assert b.last_folder() == str(result_files["nexus"].parent)
    b.close()


def test_file_panel_lists_filters_and_takes_drops(qtbot, window, result_files, tmp_path):
    folder = tmp_path / "beamtime"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(result_files["nexus"], folder / "A001.h5")
    shutil.copy(result_files["legacy"], folder / "B002.hdf")
    shutil.copy(result_files["repeat"], folder / "sub" / "A003.h5")
    (folder / "notes.h5").write_bytes(b"not hdf5")
    panel = window.files
    panel.set_folder(str(folder), recursive=False)
    wait_idle(qtbot, window)
    assert panel.model.rowCount() == 3  # A001, B002 and the unreadable notes.h5 (greyed out)
    rows = {panel.model.item(r, 0).text(): r for r in range(panel.model.rowCount())}
    assert not panel.model.item(rows["notes.h5"], 0).isEnabled()
    assert panel.model.item(rows["A001.h5"], 1).text() == "multitau, twotime"
    assert panel.model.item(rows["A001.h5"], 4).text().startswith("2024-01-01")  # start time
    import xpcs_core as xc

    with xc.open_result(folder / "B002.hdf") as res:
        q0, q1 = res.summary()["q_range"]
    assert panel.model.item(rows["B002.hdf"], 2).text() == f"{q0:.3g} – {q1:.3g}"
    panel.recursive.setChecked(True)
    wait_idle(qtbot, window)
    assert panel.model.rowCount() == 4
    panel.filter.setText("a00")
    assert panel.proxy.rowCount() == 2
    panel.filter.setText("")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder / "A001.h5")), QUrl.fromLocalFile(str(folder / "sub" / "A003.h5"))])
    event = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    panel.dropEvent(event)
    qtbot.waitUntil(lambda: len(window.session.selection) == 2, timeout=20000)
    assert [p.rsplit("/", 1)[-1] for p in window.session.selected] == ["A001.h5", "A003.h5"]
    assert sorted(p.rsplit("/", 1)[-1] for p in panel.selected_paths()) == ["A001.h5", "A003.h5"]


def test_correlate_action_opens_its_result(qtbot, window, tmp_path, monkeypatch):
    import xpcs_core

    if not hasattr(xpcs_core, "correlate"):  # pragma: no cover - the correlator is part of the core
        pytest.skip("no correlator in this build")
    from xpcs_core.correlation.rawsim import simulate_raw

    truth = simulate_raw(tmp_path / "raw", n_frames=300, shape=(48, 48), n_dyn=4, static_per_dyn=2)
    dialog = window.correlate_dialog()
    dialog.raw.setText(truth["raw"])
    dialog.qmap.setText(truth["qmap"])
    assert dialog.output.text().endswith("raw_results.hdf")
    seen = []
    job = dialog.start()
    job.signals.progress.connect(lambda d, t: seen.append((d, t)))
    qtbot.waitUntil(lambda: job.state in ("done", "failed", "cancelled"), timeout=120000)
    wait_idle(qtbot, window)
    assert job.state == "done", window.errors
    assert dialog.report.frames_used == 300 and "frames/s" in dialog.rate.text()
    assert window.session.current_path.endswith("raw_results.hdf")
    assert "multitau" in window.session.current.analysis
    assert seen and seen[-1][0] == seen[-1][1]
    from xpcs_core.gui.tabs import TAB_NAMES

    for name in TAB_NAMES:  # every view works on the correlator's output
        view = window.show_tab(name)
        wait_idle(qtbot, window)
        assert pixel_std(view.grab()) > 5, name
    assert window.errors == []


def test_average_previews_rejection_and_saves(qtbot, window, result_files, tmp_path):
    open_files(qtbot, window, result_files["nexus"], result_files["repeat"])
    view = window.show_tab("average")
    wait_idle(qtbot, window)
    assert view.table.rowCount() == 2 and view.report is not None
    assert [s.used for s in view.report.files] == [True, True]
    view.tol.setValue(0.001)  # a baseline window too tight for the noise: both are rejected
    view.preview()
    wait_idle(qtbot, window)
    assert [s.used for s in view.report.files] == [False, False]
    assert view.table.item(0, 1).text() == "rejected"
    view.tol.setValue(0.05)
    out = tmp_path / "average.h5"
    view.average_to(out)
    qtbot.waitUntil(lambda: str(out) in window.session.selected or bool(window.errors), timeout=60000)
    wait_idle(qtbot, window)
    assert window.errors == []
    avg = window.session.results[str(out)]
    a, b = (window.session.results[str(p.resolve())] for p in (result_files["nexus"], result_files["repeat"]))
    w_a, w_b = a.g2_err[0, 0] ** -2, b.g2_err[0, 0] ** -2
    expected = (a.g2[0, 0] * w_a + b.g2[0, 0] * w_b) / (w_a + w_b)  # inverse-variance weighted
    assert avg.g2[0, 0] == pytest.approx(expected, rel=1e-6)
    assert np.isfinite(avg.g2).any()
