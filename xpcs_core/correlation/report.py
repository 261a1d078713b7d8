"""What a correlation job reports: frames used and excluded, rate, backend, timings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CorrelationReport"]


@dataclass
class CorrelationReport:
    """The outcome of :func:`xpcs_core.correlate`.

    ``output`` is the result file written (None when not asked for; ``data`` then holds
    the :class:`~xpcs_core.io.data.ResultData`). Frame counts: ``frames_selected`` raw
    frames after ``frames``/``stride``, ``frames_used`` of them good, ``frames_excluded``
    bad (``bad_frames``: their raw indices; ``bad_frames_method`` how they were found),
    ``frames_correlated`` frames after averaging ``avg`` at a time. ``rate_fps``: selected
    raw frames per second of the correlation pass. ``timings`` in seconds.
    """

    output: Path | None
    raw: str
    mode: str
    frame_time: float
    stride: int
    avg: int
    frames_total: int
    frames_selected: int
    frames_used: int
    frames_excluded: int
    frames_correlated: int
    bad_frames: list[int]
    bad_frames_method: str
    n_pixels: int
    n_dynamic: int
    n_static: int
    segments: int
    twotime_bins: list[int]
    rate_fps: float
    backend: dict[str, Any]
    multitau_path: str | None = None
    g2ipif: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    data: Any = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (everything but ``data``)."""
        out = {k: v for k, v in self.__dict__.items() if k != "data"}
        for key in ("output", "g2ipif"):
            out[key] = None if out[key] is None else str(out[key])
        out["timings"] = {k: round(v, 4) for k, v in self.timings.items()}
        out["rate_fps"] = round(self.rate_fps, 2)
        return out
