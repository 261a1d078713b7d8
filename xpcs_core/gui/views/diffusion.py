"""Diffusion tab: tau vs q (log-log) with the power-law fit, D with its uncertainty, and the
hydrodynamic radius when temperature and viscosity are given."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QPushButton

from xpcs_core.gui.views.base import View
from xpcs_core.gui.views.saxs1d import legend_plot, redraw_with_legend
from xpcs_core.plot.g2 import diffusion_text, tauq_panel


class DiffusionView(View):
    name = "diffusion"
    title = "Diffusion"

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.temperature = self.add_control("T [K]", self.number_edit("e.g. 298", live=False), "temperature")
        self.viscosity = self.add_control("η [Pa·s]", self.number_edit("e.g. 0.00089", 100, live=False),
                                          "viscosity")
        apply = QPushButton("Compute radius")
        apply.clicked.connect(self.compute_radius)
        self.add_control(None, apply)
        self.end_controls()
        self.summary = QLabel("")
        self.summary.setStyleSheet("font-size: 11pt;")
        self.layout_.addWidget(self.summary)
        self.plot = legend_plot()
        self.layout_.addWidget(self.plot, 1)
        self.panel = None
        self.session.fit_changed.connect(lambda _: self.mark_dirty())

    def compute_radius(self) -> None:
        """Refit tau(q) with the temperature and viscosity entered (Stokes-Einstein R)."""
        import xpcs_core as xc

        path = self.session.current_path
        fit = self.session.fit_of(path)
        try:
            t = self.number(self.temperature, "temperature")
            eta = self.number(self.viscosity, "viscosity")
            if fit is None:
                raise xc.XpcsInputError("run a fit first (Fit tab)")
            if (t is None) != (eta is None) or (t is not None and (t <= 0 or eta <= 0)):
                raise xc.XpcsInputError("give both a positive temperature and a positive viscosity")
            self.session.tauq[path] = xc.fit_tauq(fit, temperature=t, viscosity=eta)
        except Exception as exc:
            self.window.report_error(path or self.title, exc)
            return
        self.redraw()

    def update_view(self) -> None:
        path = self.session.current_path
        fit = self.session.fit_of(path)
        tq = self.session.tauq.get(path) if path else None
        self.panel = tauq_panel(fit, tq)
        redraw_with_legend(self.plot, self.panel)
        tq = tq if tq is not None else getattr(fit, "tauq", None)
        text = diffusion_text(tq) if tq is not None else (self.panel.text or "run a fit first")
        label = self.session.stored_label(path)  # the fit read from the file, not made here
        self.summary.setText(f"{label}\n{text}" if label else text)
