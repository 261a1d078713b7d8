"""Per-file statistics for outlier rejection, and the rejection rules (see docs/batch.md).

Each file is summarised by a few numbers read from its small arrays (g2, g2 errors,
intensity vs time, SAXS 1D), never from the detector-sized ones:

- ``baseline``: inverse-variance weighted mean of g2 over the last delays (default the
  last 10 %, at least 3) of every dynamic bin (or those in ``q_range``);
- ``contrast``: the same mean over the first ``n_first`` delays minus the baseline;
- ``mean_intensity``: mean of I(t) (else of SAXS 1D);
- ``stability``: the relative spread of I(t), std/mean of its means over 10 blocks.

Rules: the baseline must lie within ``baseline_tol`` of ``baseline_ref`` (an absolute
window, like the APS viewer's). Contrast and mean intensity must not be outliers of the
bulk of the files, and stability must not be an outlier on the unstable side, by the
modified z-score z = (x - median) / (1.4826 MAD) (Iglewicz and Hoaglin) with
``|z| > z_max`` rejected; the scale has a floor (a fraction of the median, or an
absolute one for the stability) so that near-identical repeats do not reject a file
for a negligible difference. The bulk rules need at least ``min_files`` files.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from xpcs_core.errors import XpcsInputError

__all__ = ["CRITERIA", "FileStats", "RejectSettings", "apply_rejection", "file_stats", "parse_criteria"]

CRITERIA = ("baseline", "contrast", "intensity")
MAD_SCALE = 1.4826
#: floors of the robust scale: relative to |median| for contrast and intensity, absolute for stability
SCALE_FLOOR = {"contrast": 0.05, "mean_intensity": 0.02, "stability": 0.005}
_N_BLOCKS = 10


@dataclass(frozen=True)
class RejectSettings:
    """Which rules run and their thresholds (see the module docstring)."""

    criteria: tuple[str, ...] = CRITERIA
    baseline_ref: float = 1.0
    baseline_tol: float = 0.05
    n_last: int | None = None
    n_first: int = 3
    z_max: float = 3.5
    min_files: int = 3
    q_range: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.baseline_tol) and self.baseline_tol > 0):
            raise XpcsInputError(f"baseline_tol: must be a positive number, got {self.baseline_tol}")
        if not (math.isfinite(self.z_max) and self.z_max > 0):
            raise XpcsInputError(f"z_max: must be a positive number, got {self.z_max}")
        if self.n_last is not None and self.n_last < 1:
            raise XpcsInputError(f"n_last: must be at least 1, got {self.n_last}")
        if self.n_first < 1:
            raise XpcsInputError(f"n_first: must be at least 1, got {self.n_first}")
        if self.q_range is not None and not (len(self.q_range) == 2 and self.q_range[0] < self.q_range[1]):
            raise XpcsInputError(f"q_range: expected (low, high) with low < high, got {self.q_range}")

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["criteria"] = list(self.criteria)
        out["q_range"] = None if self.q_range is None else list(self.q_range)
        out["scale_floor"] = dict(SCALE_FLOOR)
        return out


@dataclass
class FileStats:
    """The statistics of one input file, and what the rules decided."""

    path: str
    n_frames: int
    baseline: float = math.nan
    baseline_err: float = math.nan
    contrast: float = math.nan
    mean_intensity: float = math.nan
    stability: float = math.nan
    used: bool = True
    reasons: list[str] = field(default_factory=list)
    weight: float = 0.0

    def reject(self, reason: str) -> None:
        self.used = False
        self.reasons.append(reason)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for k, v in out.items():
            if isinstance(v, float) and not math.isfinite(v):
                out[k] = None
        return out


def parse_criteria(reject: str | bool | Iterable[str] | None) -> tuple[str, ...]:
    """``None``/``False``/``"none"``: no rules; ``True``/``"all"``: all; else names (a list or
    a comma-separated string) out of ``CRITERIA``."""
    if reject is None or reject is False:
        return ()
    if reject is True:
        return CRITERIA
    items = [s.strip() for s in reject.split(",")] if isinstance(reject, str) else [str(s).strip() for s in reject]
    items = [s for s in items if s]
    if items in (["none"], []):
        return ()
    if items == ["all"]:
        return CRITERIA
    unknown = [s for s in items if s not in CRITERIA]
    if unknown:
        raise XpcsInputError(
            f"reject: unknown criterion {unknown[0]!r} (choose from {', '.join(CRITERIA)}, 'all' or 'none')"
        )
    return tuple(dict.fromkeys(items))


def _weighted_mean(values: np.ndarray, errors: np.ndarray | None) -> tuple[float, float]:
    """(mean, its error) of the finite values, inverse-variance weighted when errors allow."""
    finite = np.isfinite(values)
    if errors is not None:
        ok = finite & np.isfinite(errors) & (errors > 0)
        if ok.any():
            w = 1.0 / errors[ok] ** 2
            return float(np.sum(w * values[ok]) / np.sum(w)), float(1.0 / math.sqrt(np.sum(w)))
    if not finite.any():
        return math.nan, math.nan
    return float(np.mean(values[finite])), math.nan


def file_stats(result: Any, settings: RejectSettings) -> FileStats:
    """Statistics of an open result (an :class:`xpcs_core.XpcsResult`)."""
    itime = result.intensity_vs_time
    n_frames = int(itime.shape[1]) if itime is not None else int(result.n_frames or 1)
    stats = FileStats(path=str(result.path), n_frames=n_frames)
    if "multitau" in result.analysis:
        g2, err = result.g2, result.g2_err
        cols = np.arange(g2.shape[1])
        if settings.q_range is not None:
            q = result.dynamic_q
            cols = np.flatnonzero((q >= settings.q_range[0]) & (q <= settings.q_range[1]))
            if cols.size == 0:
                raise XpcsInputError(f"{result.path}: no dynamic bin with q in {settings.q_range}")
        n_tau = g2.shape[0]
        n_last = min(n_tau, settings.n_last or max(3, int(round(0.1 * n_tau))))
        n_first = min(n_tau, settings.n_first)
        stats.baseline, stats.baseline_err = _weighted_mean(g2[-n_last:, cols], err[-n_last:, cols])
        head, _ = _weighted_mean(g2[:n_first, cols], err[:n_first, cols])
        stats.contrast = head - stats.baseline
    if itime is not None and itime.shape[1] > 0:
        values = itime[1][np.isfinite(itime[1])]
        if values.size:
            stats.mean_intensity = float(values.mean())
            blocks = [b.mean() for b in np.array_split(values, min(_N_BLOCKS, values.size))]
            mean = float(np.mean(blocks))
            stats.stability = float(np.std(blocks) / mean) if mean > 0 else math.inf
    elif result.saxs_1d is not None:
        stats.mean_intensity = float(np.nanmean(result.saxs_1d))
    return stats


def robust_z(values: np.ndarray, floor: float, *, relative: bool) -> np.ndarray:
    """Modified z-scores (x - median) / max(1.4826 MAD, floor); NaN for NaN inputs."""
    values = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(values)
    z = np.full(values.shape, np.nan)
    if not ok.any():
        return z
    med = float(np.median(values[ok]))
    mad = float(np.median(np.abs(values[ok] - med)))
    scale = max(MAD_SCALE * mad, floor * abs(med) if relative else floor, 1e-300)
    z[ok] = (values[ok] - med) / scale
    return z


def apply_rejection(stats: list[FileStats], settings: RejectSettings) -> list[str]:
    """Mark the rejected files (``used``, ``reasons``) in place; return notes on rules not applied."""
    notes: list[str] = []
    crit = settings.criteria
    if "baseline" in crit:
        lo, hi = settings.baseline_ref - settings.baseline_tol, settings.baseline_ref + settings.baseline_tol
        for s in stats:
            if not math.isfinite(s.baseline):
                continue
            if not lo <= s.baseline <= hi:
                s.reject(f"baseline {s.baseline:.4g} outside {settings.baseline_ref:g} ± {settings.baseline_tol:g}")
    bulk = [c for c in crit if c != "baseline"]
    if bulk and len(stats) < settings.min_files:
        notes.append(f"{' and '.join(bulk)} rules need at least {settings.min_files} files; not applied")
        return notes
    rules: list[tuple[str, str, bool]] = []  # (attribute, label, two-sided)
    if "contrast" in crit:
        rules.append(("contrast", "contrast", True))
    if "intensity" in crit:
        rules += [("mean_intensity", "mean intensity", True), ("stability", "I(t) stability", False)]
    for attr, label, two_sided in rules:
        values = np.array([getattr(s, attr) for s in stats], dtype=np.float64)
        if np.isfinite(values).sum() < settings.min_files:
            notes.append(f"{label}: fewer than {settings.min_files} files have it; not applied")
            continue
        finite = values[np.isfinite(values)]
        z = robust_z(values, SCALE_FLOOR[attr], relative=attr != "stability")
        med = float(np.median(finite))
        for s, zi in zip(stats, z, strict=True):
            if math.isfinite(zi) and (abs(zi) if two_sided else zi) > settings.z_max:
                s.reject(f"{label} {getattr(s, attr):.4g} vs median {med:.4g} (robust z = {zi:+.1f})")
    return notes
