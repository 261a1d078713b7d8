"""Bad frames (docs/physics.md, "Multi-tau correlation"): a user list or automatic detection.

Automatic detection flags frames whose total intensity (over the correlated pixels) is an
outlier: robust z-score ``|x - median| / (1.4826 * MAD) > threshold`` (default 6). Beam
dumps, shutter glitches and cosmic showers are caught; a slow drift of the intensity
is not (it stays within the robust spread). Indices are raw frame numbers of the file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xpcs_core.errors import XpcsFormatError, XpcsInputError

__all__ = ["DEFAULT_THRESHOLD", "BadFrameSpec", "detect_outliers", "parse_bad_frames", "parse_index_list"]

DEFAULT_THRESHOLD = 6.0
#: 1 / Phi^-1(3/4): makes the MAD a consistent estimate of the standard deviation
MAD_SCALE = 1.4826
_LIST = re.compile(r"^\s*\d+(\s*-\s*\d+)?(\s*[,\s]\s*\d+(\s*-\s*\d+)?)*\s*$")


@dataclass(frozen=True)
class BadFrameSpec:
    """What to exclude: ``method`` is ``"none"``, ``"auto"``, ``"list"`` or ``"file"``;
    ``indices`` the user's raw frame indices; ``threshold`` the robust z-score of auto."""

    method: str = "none"
    indices: np.ndarray | None = None
    threshold: float = DEFAULT_THRESHOLD
    source: str | None = None

    @property
    def auto(self) -> bool:
        return self.method == "auto"

    def describe(self) -> str:
        """One line for the output files and the report."""
        if self.method == "auto":
            return f"auto: robust z-score |x - median|/(1.4826 MAD) of frame totals > {self.threshold:g}"
        if self.method == "file":
            return f"file: {self.source}"
        if self.method == "list":
            return "list"
        return "none"


def parse_index_list(text: str, where: str = "bad frames") -> np.ndarray:
    """``"3,17,100-120"`` (ranges inclusive; commas or blanks) as sorted unique int64 indices."""
    if not _LIST.match(text):
        raise XpcsInputError(f"{where}: expected indices like 3,17,100-120, got {text!r}")
    out: list[np.ndarray] = []
    for item in re.split(r"[,\s]+", re.sub(r"\s*-\s*", "-", text.strip())):
        if not item:
            continue
        lo, sep, hi = item.partition("-")
        a, b = int(lo), int(hi) if sep else int(lo)
        if b < a:
            raise XpcsInputError(f"{where}: range {item!r} runs backwards")
        out.append(np.arange(a, b + 1, dtype=np.int64))
    return np.unique(np.concatenate(out)) if out else np.zeros(0, np.int64)


def _read_file(path: Path) -> np.ndarray:
    if path.suffix.lower() == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except Exception as exc:
            raise XpcsFormatError(path, f"cannot read bad-frame indices: {exc}") from None
        if arr.dtype.kind not in "iu" and not (arr.dtype.kind == "f" and np.all(arr == np.round(arr))):
            raise XpcsFormatError(path, f"bad-frame indices must be integers, found dtype {arr.dtype}")
        return np.unique(arr.astype(np.int64).reshape(-1))
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise XpcsFormatError(path, f"cannot read bad-frame indices: {exc}") from None
    lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    body = ",".join(line for line in lines if line)
    if not body:
        return np.zeros(0, np.int64)
    try:
        return parse_index_list(body, where=str(path))
    except XpcsInputError as exc:
        raise XpcsFormatError(path, f"bad-frame indices: {exc}") from None


def parse_bad_frames(value: Any) -> BadFrameSpec:
    """None, ``"auto"`` / ``"auto:T"`` (threshold T), a list ``"3,17,100-120"``, a file of
    indices (text: numbers and ranges, ``#`` comments; or ``.npy``), or a sequence of ints."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return BadFrameSpec()
    if isinstance(value, BadFrameSpec):
        return value
    if isinstance(value, str):
        text = value.strip()
        low = text.lower()
        if low == "auto" or low.startswith("auto:"):
            threshold = DEFAULT_THRESHOLD
            if ":" in low:
                try:
                    threshold = float(low.split(":", 1)[1])
                except ValueError:
                    threshold = float("nan")
                if not (np.isfinite(threshold) and threshold > 0):
                    raise XpcsInputError(f"bad frames: threshold in {value!r} must be a positive number")
            return BadFrameSpec("auto", threshold=threshold)
        if _LIST.match(text):
            return BadFrameSpec("list", parse_index_list(text))
        path = Path(text)
        if path.is_file():
            return BadFrameSpec("file", _read_file(path), source=str(path))
        raise XpcsInputError(f"bad frames: {value!r} is neither auto, a list like 3,17,100-120 nor an existing file")
    if isinstance(value, os.PathLike):
        return parse_bad_frames(os.fspath(value))
    arr = np.asarray(value)
    if arr.ndim > 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise XpcsInputError(f"bad frames: expected integer frame indices, got {value!r}")
    return BadFrameSpec("list", np.unique(arr.astype(np.int64).reshape(-1)))


def robust_z(totals: np.ndarray) -> np.ndarray:
    """``|x - median| / (1.4826 MAD)`` over the finite totals (a non-finite total scores
    inf); falls back to 1.2533 x mean absolute deviation when the MAD is 0 (over half the
    totals equal), and to 0 when every total is the same."""
    x = np.asarray(totals, dtype=np.float64)
    finite = np.isfinite(x)
    out = np.full(x.shape, np.inf)
    if not finite.any():
        return out
    dev = np.abs(x[finite] - np.median(x[finite]))
    scale = MAD_SCALE * np.median(dev)
    if scale <= 0:
        scale = 1.2533 * dev.mean()
    out[finite] = dev / scale if scale > 0 else 0.0
    return out


def detect_outliers(totals: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Positions (into ``totals``) whose robust z-score exceeds ``threshold`` (NaN totals too)."""
    return np.flatnonzero(robust_z(totals) > threshold)


def check_indices(indices: np.ndarray, n_total: int, source: str) -> np.ndarray:
    """Raise unless every index is a frame of the stack (0 .. n_total-1)."""
    if indices.size and (indices.min() < 0 or indices.max() >= n_total):
        bad = indices[(indices < 0) | (indices >= n_total)]
        raise XpcsInputError(
            f"bad frames: index {int(bad[0])} outside the {n_total} frames of {source} "
            f"({bad.size} such index(es))"
        )
    return indices
