"""Helpers of the viewer tests (imported by them only when Qt is installed)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication


def wait_idle(qtbot, window, timeout: float = 60.0) -> None:
    """Wait until no background job runs and the queued signals were delivered."""
    qtbot.waitUntil(lambda: not window.jobs.busy and not window.files.scanning, timeout=int(timeout * 1000))
    for _ in range(5):
        QApplication.processEvents()
        time.sleep(0.005)


def open_files(qtbot, window, *paths: Path) -> None:
    """Open and select ``paths``; return when every view could draw them."""
    window.open_paths([str(p) for p in paths])
    qtbot.waitUntil(lambda: len(window.session.selection) == len(paths), timeout=30000)
    wait_idle(qtbot, window)


def pixel_std(image) -> float:
    """Standard deviation of the grey levels of a QImage / QPixmap (0 for a blank one)."""
    img = image.toImage() if hasattr(image, "toImage") else image
    img = img.convertToFormat(QImage.Format.Format_Grayscale8)
    w, h, stride = img.width(), img.height(), img.bytesPerLine()
    arr = np.frombuffer(img.constBits(), dtype=np.uint8, count=stride * h).reshape(h, stride)[:, :w]
    return float(arr.std())
