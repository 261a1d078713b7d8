""":class:`FitResult`: per-bin estimates, errors, posteriors, diagnostics, tau(q), provenance."""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xpcs_core.fitting.models import G2Model
from xpcs_core.fitting.problem import PosteriorDraws
from xpcs_core.fitting.store import clean_json, save_fit


TAU_REL_ERR_MAX = 1.0
REDCHI2_MAX = 1e4
"""A bin whose reduced chi2 exceeds this has g2 errors that do not describe its scatter
(far too small: its weight in tau(q) would be absurd); it is flagged and left out."""
"""A relaxation time whose relative error (least squares, or posterior sd of its log)
exceeds this is *not constrained by the data*: its value then follows the bounds or
the prior, and the bin is left out of tau(q)."""


def _num(v: Any) -> float | None:
    """JSON-safe float (None for NaN/inf)."""
    v = float(v)
    return v if math.isfinite(v) else None


@dataclass
class FitResult:
    """Fit of one model to all selected q-bins.

    Arrays are per bin, in the order of ``bin_index`` (0-based columns of the input g2).
    ``values``/``errors`` (n_bins, n_params) follow ``param_names``; fixed parameters
    have NaN errors. With a posterior: ``posterior`` (draws (chain, draw, bin)),
    ``summary`` {name: {mean, sd, hdi_low, hdi_high}} (94 % HDI) and ``diagnostics``
    {r_hat, ess_bulk, ess_tail: {name: (n_bins,)}, divergences, bfmi, converged}.
    ``tauq`` is the tau(q) fit when one was made.
    """

    model: G2Model
    q: np.ndarray
    bin_index: np.ndarray
    free: tuple[str, ...]
    values: np.ndarray
    errors: np.ndarray
    success: np.ndarray
    message: list[str]
    chi2: np.ndarray
    n_points: np.ndarray
    cov: np.ndarray
    t_range: tuple[float, float]
    provenance: dict[str, Any] = field(default_factory=dict)
    posterior: PosteriorDraws | None = None
    summary: dict[str, dict[str, np.ndarray]] | None = None
    diagnostics: dict[str, Any] | None = None
    tauq: Any = None
    tauq_note: str | None = None  # why there is no tau(q) fit, when there is none
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None

    # ------------------------------------------------------------------ access
    @property
    def param_names(self) -> tuple[str, ...]:
        return self.model.params

    @property
    def n_bins(self) -> int:
        return int(self.q.size)

    @property
    def redchi2(self) -> np.ndarray:
        dof = np.maximum(self.n_points - len(self.free), 1)
        return self.chi2 / dof

    @property
    def converged(self) -> np.ndarray | None:
        """Per-bin convergence flag of the posterior (None without one)."""
        return None if self.diagnostics is None else self.diagnostics["converged"]

    def value(self, name: str) -> np.ndarray:
        """Least-squares values of parameter ``name`` (n_bins,)."""
        return self.values[:, self.model.index(name)]

    def error(self, name: str) -> np.ndarray:
        """Least-squares 1-sd errors of parameter ``name`` (n_bins,)."""
        return self.errors[:, self.model.index(name)]

    def at_bound(self, name: str, rtol: float = 1e-6) -> np.ndarray:
        """Bins whose least-squares ``name`` sits on a bound."""
        if self.lower is None or self.upper is None:
            return np.zeros(self.n_bins, dtype=bool)
        j = self.model.index(name)
        v, lo, hi = self.values[:, j], self.lower[:, j], self.upper[:, j]
        tol = rtol * np.maximum(np.abs(v), 1e-300)
        return (np.abs(v - lo) <= tol) | (np.abs(v - hi) <= tol)

    def time_params(self) -> tuple[str, ...]:
        """The free relaxation times of the model (tau; tau1, tau2)."""
        return tuple(n for n in self.param_names if n in self.model.log_scale and n in self.free)

    def relative_spread(self, name: str) -> np.ndarray:
        """Relative uncertainty of a positive parameter per bin: the larger of its
        least-squares relative error and (with a posterior) the sd of log(value) over
        the draws; inf where it is not finite or positive."""
        v, e = self.value(name), self.error(name)
        with np.errstate(all="ignore"):
            rel = np.where((v > 0) & np.isfinite(v) & np.isfinite(e), e / v, np.inf)
            if self.posterior is not None and name in self.posterior.draws:
                d = self.posterior.draws[name]
                sd = np.log(np.where(d > 0, d, np.nan)).std(axis=(0, 1))
                rel = np.where(np.isfinite(sd), np.maximum(rel, sd), rel)  # NaN: bin not sampled
        return rel

    def constrained(self, name: str | None = None) -> np.ndarray:
        """Bins whose relaxation time ``name`` (default: every free one) the data
        constrain: fitted, not on a bound, :meth:`relative_spread` <= TAU_REL_ERR_MAX, g2 errors
        consistent with the scatter (reduced chi2 <= REDCHI2_MAX)."""
        names = self.time_params() if name is None else (name,)
        ok = self.success & ~(self.redchi2 > REDCHI2_MAX)
        for n in names:
            ok &= (self.relative_spread(n) <= TAU_REL_ERR_MAX) & ~self.at_bound(n)
        return ok

    def notes(self) -> list[list[str]]:
        """Per bin, what limits its fit: free parameters on a bound, relaxation times the
        data do not constrain or that lie outside the delay range, a posterior that did
        not converge. Empty lists for clean bins."""
        out: list[list[str]] = [[] for _ in range(self.n_bins)]
        t_lo, t_hi = self.t_range
        times = self.time_params()
        for b in np.flatnonzero(~self.success):
            out[b].append(self.message[b] or "not fitted")
        for b in np.flatnonzero(self.success & (self.redchi2 > REDCHI2_MAX)):
            out[b].append(f"g2 errors far below the scatter (chi2/dof = {self.redchi2[b]:.2g}); "
                          "left out of tau(q)")
        for n in self.free:
            j = self.model.index(n)
            v = self.values[:, j]
            bound = self.at_bound(n) & self.success
            ok = self.constrained(n) if n in times else np.ones(self.n_bins, dtype=bool)
            spread = self.relative_spread(n) if n in times else None
            for b in np.flatnonzero(self.success):
                if bound[b]:
                    side = "lower" if abs(v[b] - self.lower[b, j]) <= abs(v[b] - self.upper[b, j]) else "upper"
                    out[b].append(f"{n} on its {side} bound" + (": not constrained by the data" if n in times else ""))
                elif not ok[b]:
                    out[b].append(f"{n} not constrained by the data (relative error {spread[b]:.2g})")
                elif n in times and v[b] < t_lo:
                    out[b].append(f"{n} below the first delay (decay mostly unseen)")
                elif n in times and v[b] > t_hi:
                    out[b].append(f"{n} beyond the last delay (decay incomplete)")
        if self.diagnostics is not None:
            for b in np.flatnonzero(self.success & ~np.asarray(self.diagnostics["converged"], dtype=bool)):
                out[b].append("posterior not converged")
        return out

    def tauq_inputs(self, param: str | None = None) -> tuple[Any, ...]:
        """(q, tau, tau_err, tau_draws | None, used, param) for :func:`fit_tauq`."""
        from xpcs_core.errors import XpcsInputError

        if param is None:
            param = "tau" if "tau" in self.param_names else ("tau1" if "tau1" in self.param_names else None)
        if param is None or param not in self.param_names:
            raise XpcsInputError(f"model {self.model.name!r} has no relaxation time {param!r} for tau(q)")
        tau, err = self.value(param), self.error(param)
        used = (self.success & np.isfinite(self.q) & (self.q > 0) & np.isfinite(tau) & (tau > 0)
                & np.isfinite(err) & (err > 0) & self.constrained(param))
        draws = None
        if self.posterior is not None and param in self.posterior.draws:
            d = self.posterior.draws[param]
            d = d.reshape(-1, d.shape[-1])
            used_bayes = used & np.all(np.isfinite(d) & (d > 0), axis=0)
            if self.converged is not None:
                used_bayes &= self.converged
            if used_bayes.sum() >= 2:  # else: least squares over the usable bins
                draws, used = d, used_bayes
        return self.q, tau, err, draws, used, param

    # ------------------------------------------------------------------ export
    def bins(self) -> list[dict[str, Any]]:
        """One dict per bin (the ``bins`` list of ``xpcs fit --json``)."""
        rows = []
        notes = self.notes()
        constrained = self.constrained()
        for b in range(self.n_bins):
            row: dict[str, Any] = {
                "bin": int(self.bin_index[b]),
                "q": _num(self.q[b]),
                "params": {n: {"value": _num(self.values[b, j]), "err": _num(self.errors[b, j]),
                               "fixed": n not in self.free}
                           for j, n in enumerate(self.param_names)},
                "success": bool(self.success[b]),
                "message": self.message[b],
                "chi2": _num(self.chi2[b]),
                "redchi2": _num(self.redchi2[b]),
                "n_points": int(self.n_points[b]),
                "constrained": bool(constrained[b]),
                "notes": notes[b],
            }
            if self.summary is not None:
                row["posterior"] = {n: {k: _num(v[b]) for k, v in s.items()} for n, s in self.summary.items()}
            if self.diagnostics is not None:
                d = self.diagnostics
                row["diagnostics"] = {
                    "r_hat": {n: _num(v[b]) for n, v in d["r_hat"].items()},
                    "ess_bulk": {n: _num(v[b]) for n, v in d["ess_bulk"].items()},
                    "ess_tail": {n: _num(v[b]) for n, v in d["ess_tail"].items()},
                    "divergences": int(d["divergences"][b]),
                    "bfmi": _num(d["bfmi"][b]),
                    "converged": bool(d["converged"][b]),
                }
            rows.append(row)
        return rows

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-ready Python objects (NaN/inf become None)."""
        out: dict[str, Any] = {
            "backend": self.provenance.get("backend"),
            "model": self.model.name,
            "params": list(self.param_names),
            "free": list(self.free),
            "t_range": [float(self.t_range[0]), float(self.t_range[1])],
            "bins": self.bins(),
            "tauq": self.tauq.as_dict() if self.tauq is not None else None,
            "tauq_note": self.tauq_note,
            "provenance": self.provenance,
        }
        if self.posterior is not None:
            out["sampler"] = {"name": self.posterior.sampler, "settings": self.posterior.settings}
            out["n_converged"] = int(np.sum(self.converged))
        return clean_json(out)

    def to_json(self, path: str | os.PathLike[str] | None = None, **kwargs: Any) -> str:
        """JSON text of :meth:`to_dict`; also written to ``path`` if given."""
        text = json.dumps(self.to_dict(), indent=kwargs.pop("indent", 2), default=_json_default, **kwargs)
        if path is not None:
            from xpcs_core.io.atomic import atomic_path

            with atomic_path(path, suffix=".json.tmp") as tmp:
                tmp.write_text(text + "\n")
        return text

    def csv_rows(self) -> tuple[list[str], list[list[Any]]]:
        """Header and rows of the CSV export (one row per bin)."""
        header = ["bin", "q_1_per_A", "success", "message", "chi2", "redchi2", "n_points"]
        for n in self.param_names:
            header += [n, f"{n}_err"]
        if self.summary is not None:
            for n in self.summary:
                header += [f"{n}_post_mean", f"{n}_post_sd", f"{n}_hdi94_low", f"{n}_hdi94_high",
                           f"{n}_r_hat", f"{n}_ess_bulk", f"{n}_ess_tail"]
            header += ["divergences", "bfmi", "converged"]
        header += ["constrained", "notes"]
        rows = []
        notes = self.notes()
        constrained = self.constrained()
        for b in range(self.n_bins):
            row: list[Any] = [int(self.bin_index[b]), self.q[b], int(self.success[b]), self.message[b],
                              self.chi2[b], self.redchi2[b], int(self.n_points[b])]
            for j in range(len(self.param_names)):
                row += [self.values[b, j], self.errors[b, j]]
            if self.summary is not None:
                d = self.diagnostics
                for n, s in self.summary.items():
                    row += [s["mean"][b], s["sd"][b], s["hdi_low"][b], s["hdi_high"][b],
                            d["r_hat"][n][b], d["ess_bulk"][n][b], d["ess_tail"][n][b]]
                row += [int(d["divergences"][b]), d["bfmi"][b], int(d["converged"][b])]
            row += [int(constrained[b]), "; ".join(notes[b])]
            rows.append(row)
        return header, rows

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write one row per bin (values, errors, and posterior summary/diagnostics)."""
        from xpcs_core.io.atomic import atomic_path

        header, rows = self.csv_rows()
        with atomic_path(path, suffix=".csv.tmp") as tmp:
            with open(tmp, "w", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(header)
                for row in rows:
                    writer.writerow([f"{v:.10g}" if isinstance(v, float | np.floating) else v for v in row])

    def to_inference_data(self) -> Any:
        """ArviZ ``InferenceData`` of the posterior (dims chain, draw, bin; coord q)."""
        if self.posterior is None:
            from xpcs_core.errors import XpcsInputError

            raise XpcsInputError("this fit has no posterior (fit with bayes=True)")
        from xpcs_core.fitting.diagnostics import _az

        az = _az()
        stats = dict(self.posterior.sample_stats)
        if "accept_prob" in stats:
            stats["acceptance_rate"] = stats.pop("accept_prob")
        names = {"n_steps": "n_steps", "lp": "lp"}
        stats = {names.get(k, k): v for k, v in stats.items()}
        coords = {"bin": self.bin_index.astype(int)}
        dims = {k: ["bin"] for k in list(self.posterior.draws) + list(stats)}
        idata = az.from_dict(posterior=self.posterior.draws, sample_stats=stats, coords=coords, dims=dims,
                             attrs={"model": self.model.name, "sampler": self.posterior.sampler,
                                    "backend": str(self.provenance.get("backend"))})
        idata.posterior = idata.posterior.assign_coords(q=("bin", self.q))
        return idata

    def save(self, path: str | os.PathLike[str], *, source: str | os.PathLike[str] | None = None,
             in_place: bool = False) -> None:
        """Write under ``/xpcs/fit/<model>`` (see :mod:`xpcs_core.fitting.store`)."""
        save_fit(self, path, source=source, in_place=in_place)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return str(obj)
