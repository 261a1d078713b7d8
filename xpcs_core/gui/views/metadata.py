"""Metadata tab: the file's summary and metadata tree with units."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem

from xpcs_core.gui.views.base import View


def _text(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return np.array2string(value, threshold=12, precision=6)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


class MetadataView(View):
    name = "metadata"
    title = "Metadata"

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.end_controls()
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["item", "value", "unit"])
        self.layout_.addWidget(self.tree, 1)

    def update_view(self) -> None:
        self.tree.clear()
        res = self.session.current
        if res is None:
            self.show_note("no file selected")
            return
        top = QTreeWidgetItem(["summary", str(res.path), ""])
        for key, value in res.summary().items():
            QTreeWidgetItem(top, [key, _text(value), ""])
        self.tree.addTopLevelItem(top)
        meta = QTreeWidgetItem(["metadata", "", ""])
        self._fill(meta, res.metadata)
        self.tree.addTopLevelItem(meta)
        if "multitau" in res.analysis:
            cfg = QTreeWidgetItem(["multi-tau settings", "", ""])
            for key, value in res.multitau_config.items():
                QTreeWidgetItem(cfg, [key, _text(value), ""])
            self.tree.addTopLevelItem(cfg)
        fit = self.session.fit_of(self.session.current_path)
        if fit is not None:
            prov = QTreeWidgetItem(["last fit provenance", fit.model.name, ""])
            self._fill(prov, fit.provenance)
            self.tree.addTopLevelItem(prov)
        self.tree.expandAll()
        for column in (0, 1, 2):
            self.tree.resizeColumnToContents(column)

    def _fill(self, parent: QTreeWidgetItem, tree: dict[str, Any]) -> None:
        for key, value in tree.items():
            if isinstance(value, dict):
                node = QTreeWidgetItem(parent, [str(key), "", ""])
                self._fill(node, value)
            elif hasattr(value, "value") and hasattr(value, "unit"):
                QTreeWidgetItem(parent, [str(key), _text(value.value), value.unit or ""])
            else:
                QTreeWidgetItem(parent, [str(key), _text(value), ""])
