"""``average``: average result files of one partition, after outlier rejection.

Two passes over the files, each holding one file at a time: the first reads only the
small arrays (g2, errors, I(t), SAXS 1D) to check that the files can be averaged and
to compute the rejection statistics; the second streams the used files into running
sums (g2 weighted by the inverse error variance, SAXS frame-weighted, two-time maps).
Memory is that of one file plus the sums, whatever the number of files.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xpcs_core.averaging.record import output_qmap, partition_key, write_average_group
from xpcs_core.averaging.stats import CRITERIA, FileStats, RejectSettings, apply_rejection, file_stats, parse_criteria
from xpcs_core.errors import XpcsError, XpcsInputError

__all__ = ["AverageReport", "average"]


@dataclass
class AverageReport:
    """What :func:`average` did: every input with its statistics, weight and verdict."""

    files: list[FileStats]
    settings: dict[str, Any]
    output: Path | None = None
    data: Any = None  # the averaged ResultData (None for reject_only)
    notes: list[str] = field(default_factory=list)

    @property
    def used(self) -> list[FileStats]:
        return [s for s in self.files if s.used]

    @property
    def rejected(self) -> list[FileStats]:
        return [s for s in self.files if not s.used]

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": None if self.output is None else str(self.output),
            "n_files": len(self.files),
            "n_used": len(self.used),
            "n_rejected": len(self.rejected),
            "settings": self.settings,
            "notes": list(self.notes),
            "files": [s.as_dict() for s in self.files],
        }


def average(
    files: Iterable[str | os.PathLike[str]],
    output: str | os.PathLike[str] | None = None,
    *,
    reject: str | bool | Iterable[str] | None = CRITERIA,
    baseline_ref: float = 1.0,
    baseline_tol: float = 0.05,
    z_max: float = 3.5,
    n_last: int | None = None,
    q_range: tuple[float, float] | None = None,
    reject_only: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> AverageReport:
    """Average result files of the same partition and delays into ``output`` (if given).

    ``reject``: rules to apply before averaging, out of ``"baseline"``, ``"contrast"``,
    ``"intensity"`` (default all; ``None``/``"none"`` for none); thresholds
    ``baseline_ref ± baseline_tol`` on the g2 baseline (mean of the last ``n_last``
    delays, default the last 10 %), robust z-score ``z_max`` for contrast and intensity;
    ``q_range`` (1/Å) restricts the bins the statistics use. ``reject_only``: decide and
    report, write nothing. ``progress(done, total)`` during the averaging pass.

    Raises XpcsInputError naming the files when partitions, delays or analysis kinds
    differ; XpcsError when every file is rejected. The report's ``data`` holds the
    averaged :class:`xpcs_core.ResultData`; the output also records the sources, their
    weights and the rejected files under ``/xpcs/average`` (docs/batch.md).
    """
    from xpcs_core.io.result import open_result

    paths = [Path(f) for f in files]
    if not paths:
        raise XpcsInputError("average: no input files")
    _check_paths(paths, None if output is None else Path(output))
    settings = RejectSettings(criteria=parse_criteria(reject), baseline_ref=float(baseline_ref),
                              baseline_tol=float(baseline_tol), z_max=float(z_max), n_last=n_last,
                              q_range=None if q_range is None else (float(q_range[0]), float(q_range[1])))
    stats: list[FileStats] = []
    signatures: list[dict[str, Any]] = []
    for path in paths:
        with open_result(path) as res:
            signatures.append(_signature(res))
            stats.append(file_stats(res, settings))
    _check_compatible(paths, signatures)
    report = AverageReport(files=stats, settings=settings.as_dict(), notes=apply_rejection(stats, settings))
    if reject_only:
        return report
    used = report.used
    if not used:
        raise XpcsError(
            f"all {len(stats)} files were rejected: "
            + "; ".join(f"{Path(s.path).name}: {', '.join(s.reasons)}" for s in stats)
        )
    twotime_ok = all(signatures[paths.index(Path(s.path))]["twotime"] is not None for s in used)
    if not twotime_ok and any(sig["twotime"] is not None for sig in signatures):
        report.notes.append("two-time maps not averaged: not every used file has them")
    report.data = _accumulate(used, twotime_ok, report.notes, progress)
    if output is not None:
        report.output = _write(Path(output), report)
    return report


def _check_paths(paths: Sequence[Path], output: Path | None) -> None:
    seen: dict[Path, Path] = {}
    for p in paths:
        key = p.resolve()
        if key in seen:
            raise XpcsInputError(f"{p}: given twice")
        seen[key] = p
    if output is not None and output.resolve() in seen:
        raise XpcsInputError(f"{output}: the output is one of the input files")


def _signature(res: Any) -> dict[str, Any]:
    """What must agree between files: partition, delays, analysis kinds, two-time layout."""
    mt = "multitau" in res.analysis
    twotime = None
    if "twotime" in res.analysis:
        twotime = (tuple(int(b) for b in res.twotime_bins), int(res.twotime_tau.size))
    delays = None
    if mt:
        tau = res.tau
        delays = (tuple(res.delay_list.tolist()), float(tau[0] / res.delay_list[0]))
    return {"partition": partition_key(res), "delays": delays, "multitau": mt, "twotime": twotime}


def _describe(aspect: str, value: Any) -> str:
    if aspect == "partition":
        return f"q-map hash {str(value)[:12]}"
    if aspect == "delays":
        if value is None:
            return "no multi-tau delays"
        lags, dt = value
        return f"{len(lags)} delays, lag {lags[0]:g}..{lags[-1]:g} frames x {dt:.6g} s"
    return "multi-tau g2" if value else "no multi-tau g2"


def _check_compatible(paths: Sequence[Path], signatures: Sequence[dict[str, Any]]) -> None:
    problems = []
    for aspect, what in (("multitau", "analysis kinds"), ("partition", "partitions"), ("delays", "delays")):
        groups: dict[Any, list[str]] = {}
        for p, sig in zip(paths, signatures, strict=True):
            groups.setdefault(sig[aspect], []).append(p.name)
        if len(groups) > 1:
            parts = [f"{', '.join(_short(names))} ({_describe(aspect, key)})" for key, names in groups.items()]
            problems.append(f"{what} differ: " + " vs ".join(parts))
    if problems:
        raise XpcsInputError("cannot average these files: " + "; ".join(problems))


def _short(names: list[str], limit: int = 6) -> list[str]:
    return names if len(names) <= limit else [*names[:limit], f"... ({len(names) - limit} more)"]


class _Sum:
    """A weighted running sum of equally shaped arrays (None until the first one)."""

    def __init__(self) -> None:
        self.total: np.ndarray | None = None
        self.weight = 0.0
        self.missing = False

    def add(self, value: np.ndarray | None, weight: float = 1.0) -> None:
        if value is None:
            self.missing = True
            return
        value = np.asarray(value, dtype=np.float64)
        self.total = value * weight if self.total is None else self.total + value * weight
        self.weight += weight

    def mean(self) -> np.ndarray | None:
        return None if self.total is None or self.missing else self.total / self.weight


def _accumulate(used: list[FileStats], twotime: bool, notes: list[str],
                progress: Callable[[int, int], None] | None) -> Any:
    from xpcs_core.io.data import MultitauData, ResultData, TwotimeData
    from xpcs_core.io.result import open_result

    saxs2, saxs1 = _Sum(), _Sum()
    tt_g2, tt_seg = _Sum(), _Sum()
    c2: dict[int, _Sum] = {}
    # I(t) of all files, concatenated: float32 as stored, allocated once (8 bytes per frame)
    itime: np.ndarray | None = np.empty((2, sum(s.n_frames for s in used)), dtype=np.float32)
    frame_offset = 0
    wsum = num = plain = count = None
    file_weight: list[float] = []
    first: dict[str, Any] = {}
    for k, s in enumerate(used):
        with open_result(s.path, validate=False) as res:
            if k == 0:
                first = _reference(res)
            if "multitau" in res.analysis:
                g2, err = res.g2, res.g2_err
                ok = np.isfinite(g2) & np.isfinite(err) & (err > 0)
                w = np.where(ok, 1.0 / np.where(ok, err, 1.0) ** 2, 0.0)
                fin = np.isfinite(g2)
                if wsum is None:
                    wsum, num = np.zeros_like(g2), np.zeros_like(g2)
                    plain, count = np.zeros_like(g2), np.zeros_like(g2)
                wsum += w
                num += w * np.where(ok, g2, 0.0)
                plain += np.where(fin, g2, 0.0)
                count += fin
                file_weight.append(float(w.sum()))
            nf = float(s.n_frames)
            saxs2.add(res.saxs_2d, nf)
            saxs1.add(res.saxs_1d, nf)
            it = res.intensity_vs_time
            if it is None or itime is None or frame_offset + it.shape[1] > itime.shape[1]:
                itime = None
            else:
                itime[0, frame_offset:frame_offset + it.shape[1]] = np.arange(frame_offset, frame_offset + it.shape[1])
                itime[1, frame_offset:frame_offset + it.shape[1]] = it[1]
                frame_offset += it.shape[1]
            del it
            if twotime:
                for label in res.twotime_bins:
                    c2.setdefault(int(label), _Sum()).add(res.c2(int(label), full=False))
                tt_g2.add(res.twotime_g2)
                tt_seg.add(res.twotime_g2_segments)
        if progress is not None:
            progress(k + 1, len(used))
    total_w = sum(file_weight)
    for k, s in enumerate(used):
        s.weight = file_weight[k] / total_w if total_w > 0 else 1.0 / len(used)
    multitau = None
    if wsum is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            weighted = wsum > 0
            g2 = np.where(weighted, num / np.where(weighted, wsum, 1.0), plain / count)
            err = np.where(weighted, 1.0 / np.sqrt(np.where(weighted, wsum, 1.0)), np.nan)
        if (~weighted & (count > 0)).any():
            notes.append(f"{int((~weighted & (count > 0)).sum())} g2 values without errors: plain mean, NaN error")
        multitau = MultitauData(g2=g2, g2_err=err, **first["multitau"])
    if itime is None:
        notes.append("intensity vs time not written: not every used file has it")
    else:
        itime = itime[:, :frame_offset]
    tt = None
    if twotime and c2:
        tt = TwotimeData(processed_bins=np.array(sorted(c2), dtype=np.int64),
                         c2_maps=[c2[b].mean() for b in sorted(c2)], g2=tt_g2.mean(),
                         g2_segments=tt_seg.mean(), **first["twotime"])
    for name, acc in (("SAXS 2D", saxs2), ("SAXS 1D", saxs1)):
        if acc.missing and acc.total is not None:
            notes.append(f"{name} not written: not every used file has it")
    return ResultData(**first["result"], saxs_2d=saxs2.mean(), saxs_1d=saxs1.mean(),
                      intensity_vs_time=itime, multitau=multitau, twotime=tt)


def _reference(res: Any) -> dict[str, Any]:
    """Geometry, settings and metadata of the averaged file, taken from the first used file."""
    out: dict[str, Any] = {
        "result": {
            "qmap": output_qmap(res), "frame_time": res.frame_time, "count_time": res.count_time,
            "energy": res.energy, "detector_distance": res.detector_distance,
            "pixel_size": (res.pixel_size, res.pixel_size_y), "start_time": res.start_time,
        },
        "multitau": {},
        "twotime": {},
    }
    if "multitau" in res.analysis:
        config = {k: v for k, v in res.multitau_config.items() if k not in ("stride_frame", "avg_frame")}
        out["multitau"] = {"delay_list": res.delay_list, "stride_frame": res.stride_frame,
                           "avg_frame": res.avg_frame, "config": config}
    if "twotime" in res.analysis:
        out["twotime"] = {"delay_list": res.twotime_delay_list, "stride_frame": res.twotime_stride_frame,
                          "avg_frame": res.twotime_avg_frame}
    return out


def _write(path: Path, report: AverageReport) -> Path:
    from xpcs_core.io.atomic import atomic_h5
    from xpcs_core.io.writer import write_result_to

    data = report.data
    if data.multitau is not None:
        data.multitau.config = {**data.multitau.config, "averaged_files": len(report.used)}
    with atomic_h5(path) as h5:
        write_result_to(h5, data)
        write_average_group(h5, report)
    return path
