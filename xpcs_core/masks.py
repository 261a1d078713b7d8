"""Masks and regions of interest on a detector.

Conventions: a *mask* is a bool (H, W) array, True = good pixel (docs/file-format.md: 1 = good);
a *region* is a bool (H, W) array, True = inside. Geometric regions use pixel centres
at integer coordinates, ``x`` = column and ``y`` = row (the beam-centre convention), and
include a pixel when its centre is inside (or on the border).

:class:`MaskBuilder` is the programmatic API (the GUI drives it): regions of interest
combine by union (:meth:`~MaskBuilder.add`) and subtraction (:meth:`~MaskBuilder.subtract`),
bad-pixel masks (blemish, file masks, thresholds) by intersection; every step is kept
so it can be listed or undone.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xpcs_core.errors import XpcsFormatError, XpcsInputError

Shape = tuple[int, int]

HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".nxs", ".nx5", ".he5")
TIFF_SUFFIXES = (".tif", ".tiff")
MASK_DATASETS = ("/mask", "/qmap/mask", "/xpcs/qmap/mask", "/entry/mask")
"""Datasets tried, in order, when an HDF5 mask file is given without a dataset path."""


def _shape(shape: Sequence[int]) -> Shape:
    if len(shape) != 2 or any(int(n) < 1 for n in shape):
        raise XpcsInputError(f"shape: expected (rows, columns), got {tuple(shape)}")
    return int(shape[0]), int(shape[1])


def _grid(shape: Shape) -> tuple[np.ndarray, np.ndarray]:
    """Row (H, 1) and column (1, W) pixel-centre coordinates."""
    rows, cols = shape
    return np.arange(rows, dtype=np.float64)[:, None], np.arange(cols, dtype=np.float64)[None, :]


# ----------------------------------------------------------------- regions
def rectangle(shape: Sequence[int], x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Pixels with x0 <= column <= x1 and y0 <= row <= y1 (corners in any order)."""
    shape = _shape(shape)
    r, c = _grid(shape)
    xa, xb = sorted((float(x0), float(x1)))
    ya, yb = sorted((float(y0), float(y1)))
    return (c >= xa) & (c <= xb) & (r >= ya) & (r <= yb)


def circle(shape: Sequence[int], cx: float, cy: float, radius: float) -> np.ndarray:
    """Pixels within ``radius`` (pixels) of (cx = column, cy = row)."""
    if not radius >= 0:
        raise XpcsInputError(f"circle: radius must be >= 0, got {radius!r}")
    return ellipse(shape, cx, cy, radius, radius)


def ellipse(shape: Sequence[int], cx: float, cy: float, rx: float, ry: float,
            angle_deg: float = 0.0) -> np.ndarray:
    """Pixels inside an ellipse of semi-axes ``rx`` (along x before rotation) and ``ry``.

    ``angle_deg`` turns the x semi-axis towards +y (down the rows).
    """
    if not (rx >= 0 and ry >= 0):
        raise XpcsInputError(f"ellipse: semi-axes must be >= 0, got {rx!r}, {ry!r}")
    shape = _shape(shape)
    r, c = _grid(shape)
    dx, dy = c - float(cx), r - float(cy)
    a = math.radians(angle_deg)
    u = dx * math.cos(a) + dy * math.sin(a)
    v = -dx * math.sin(a) + dy * math.cos(a)
    if rx == 0 or ry == 0:  # degenerate: a segment (or a point)
        return (np.abs(u) <= rx) & (np.abs(v) <= ry)
    return (u / rx) ** 2 + (v / ry) ** 2 <= 1.0


def polygon(shape: Sequence[int], vertices: Sequence[Sequence[float]]) -> np.ndarray:
    """Pixels whose centre lies inside the polygon ``vertices`` [(x, y), ...] (even-odd rule).

    Vectorised crossing-number test over the polygon's bounding box, one pass per edge.
    """
    shape = _shape(shape)
    pts = np.asarray(vertices, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] < 3 or not np.all(np.isfinite(pts)):
        raise XpcsInputError("polygon: expected at least 3 finite (x, y) vertices")
    out = np.zeros(shape, dtype=bool)
    rows, cols = shape
    c0, r0 = max(0, math.ceil(pts[:, 0].min())), max(0, math.ceil(pts[:, 1].min()))
    c1, r1 = min(cols - 1, math.floor(pts[:, 0].max())), min(rows - 1, math.floor(pts[:, 1].max()))
    if c0 > c1 or r0 > r1:
        return out
    y = np.arange(r0, r1 + 1, dtype=np.float64)[:, None]
    x = np.arange(c0, c1 + 1, dtype=np.float64)[None, :]
    inside = np.zeros((y.shape[0], x.shape[1]), dtype=bool)
    on_edge = np.zeros_like(inside)
    for (xa, ya), (xb, yb) in zip(pts, np.roll(pts, -1, axis=0), strict=True):
        if ya != yb:
            # edge spans the row's y (half-open, so shared vertices count once)
            spans = (ya > y) != (yb > y)
            x_cross = xa + (y - ya) * (xb - xa) / (yb - ya)
            inside ^= spans & (x < x_cross)
        # pixel centres exactly on the edge are inside
        cross = (xb - xa) * (y - ya) - (yb - ya) * (x - xa)
        within = (x >= min(xa, xb)) & (x <= max(xa, xb)) & (y >= min(ya, yb)) & (y <= max(ya, yb))
        on_edge |= (cross == 0) & within
    out[r0 : r1 + 1, c0 : c1 + 1] = inside | on_edge
    return out


def ring(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Pixels with ``low <= values <= high`` (a q ring on a q map, or a radius band)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise XpcsInputError(f"ring: expected a 2-D map, got shape {values.shape}")
    if not low <= high:
        raise XpcsInputError(f"ring: low {low!r} must not exceed high {high!r}")
    return (values >= low) & (values <= high)


def phi_sector(phi: np.ndarray, start_deg: float, end_deg: float) -> np.ndarray:
    """Pixels whose azimuth (degrees) runs counter-clockwise from ``start_deg`` to ``end_deg``.

    Wraps around ±180: ``phi_sector(phi, 170, -170)`` is the 20° sector around 180°.
    ``end - start`` of 360 or more selects every pixel.
    """
    phi = np.asarray(phi, dtype=np.float64)
    if phi.ndim != 2:
        raise XpcsInputError(f"phi_sector: expected a 2-D phi map, got shape {phi.shape}")
    if end_deg - start_deg >= 360.0:
        return np.isfinite(phi)
    width = (end_deg - start_deg) % 360.0
    return np.mod(phi - start_deg, 360.0) <= width


# ------------------------------------------------------------------ masks
def threshold(image: np.ndarray, low: float | None = None, high: float | None = None) -> np.ndarray:
    """Good-pixel mask: ``low <= image <= high`` (either bound optional); NaN is bad."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[0] == 1:
        image = image[0]
    if image.ndim != 2:
        raise XpcsInputError(f"threshold: expected a 2-D image, got shape {image.shape}")
    if low is not None and high is not None and low > high:
        raise XpcsInputError(f"threshold: low {low!r} is above high {high!r}")
    good = np.isfinite(image) if image.dtype.kind == "f" else np.ones(image.shape, dtype=bool)
    if low is not None:
        good &= image >= low
    if high is not None:
        good &= image <= high
    return good


def _split_h5(spec: str) -> tuple[str, str | None]:
    """``file.h5:/path/to/ds`` -> (``file.h5``, ``/path/to/ds``); plain file -> (file, None)."""
    match = re.match(r"^(.*?\.(?:h5|hdf5|hdf|nxs|nx5|he5)):(/.*)?$", spec, flags=re.IGNORECASE)
    if match:
        return match.group(1), match.group(2) or None
    return spec, None


def _read_h5(path: Path, dataset: str | None) -> np.ndarray:
    import h5py

    from xpcs_core.io._h5util import open_h5_readonly

    try:
        with open_h5_readonly(path) as f:
            keys = [dataset] if dataset else [k for k in MASK_DATASETS if k in f]
            if not keys:
                raise XpcsFormatError(
                    path, f"no mask dataset found (tried {', '.join(MASK_DATASETS)}); "
                    "name one as FILE.h5:/path"
                )
            key = keys[0]
            obj = f.get(key)
            if not isinstance(obj, h5py.Dataset):
                raise XpcsFormatError(path, "no such dataset" if obj is None else "not a dataset", key)
            return np.asarray(obj[()])
    except OSError as exc:
        raise XpcsFormatError(path, f"cannot read as HDF5: {exc}") from None


def load_mask(source: str | os.PathLike[str], shape: Sequence[int] | None = None, *,
              invert: bool = False) -> np.ndarray:
    """Read a good-pixel mask from a TIFF, a NumPy ``.npy`` or an HDF5 dataset.

    ``source``: ``mask.tif``, ``mask.npy``, ``file.h5:/path/to/dataset`` (or ``file.h5``
    holding one of :data:`MASK_DATASETS`). Non-zero = good, unless ``invert`` (for masks
    where non-zero marks bad pixels). A (1, H, W) array is accepted as (H, W).

    Raises XpcsInputError (XpcsFormatError for unreadable content) naming the file, for
    a missing file, an unknown type, non-numeric data, or a shape other than ``shape``.
    """
    path_str, dataset = _split_h5(os.fspath(source))
    path = Path(path_str)
    if not path.is_file():
        raise XpcsInputError(f"{path}: no such mask file")
    suffix = path.suffix.lower()
    try:
        if suffix in HDF5_SUFFIXES:
            data = _read_h5(path, dataset)
        elif suffix in TIFF_SUFFIXES:
            import tifffile

            data = tifffile.imread(path)
        elif suffix == ".npy":
            data = np.load(path, allow_pickle=False)
        else:
            raise XpcsInputError(
                f"{path}: unknown mask file type {suffix or '(none)'}; use .tif, .npy or .h5:/dataset"
            )
    except XpcsInputError:
        raise
    except Exception as exc:  # tifffile/numpy raise many kinds on corrupt files
        raise XpcsFormatError(path, f"cannot read mask: {exc}") from None
    data = np.asarray(data)
    where = f"{path}:{dataset}" if dataset else str(path)
    if data.ndim == 3 and data.shape[0] == 1:
        data = data[0]
    if data.dtype.kind not in "biuf":
        raise XpcsInputError(f"{where}: mask must be numeric or boolean, found dtype {data.dtype}")
    if data.ndim != 2:
        raise XpcsInputError(f"{where}: mask must be 2-D, found shape {data.shape}")
    if shape is not None and data.shape != tuple(shape):
        raise XpcsInputError(
            f"{where}: mask shape {data.shape} does not match the detector {tuple(shape)}"
        )
    good = data != 0
    return ~good if invert else good


# ---------------------------------------------------------------- builder
@dataclass(frozen=True)
class MaskStep:
    """One step of a :class:`MaskBuilder`: ``op`` is add, subtract or intersect."""

    op: str
    array: np.ndarray
    label: str


class MaskBuilder:
    """Build a good-pixel mask step by step.

    The result is ``roi & good``: ``roi`` is the union of the :meth:`add`\\ ed regions
    minus the :meth:`subtract`\\ ed ones, in order (every pixel when nothing was added
    first); ``good`` is the intersection of the bad-pixel masks given to
    :meth:`intersect`, :meth:`threshold`, :meth:`load` and :meth:`blemish`.

    >>> mb = MaskBuilder((64, 80))
    >>> mb.add(circle(mb.shape, 40, 32, 30)).subtract(rectangle(mb.shape, 35, 0, 45, 32))
    ... # doctest: +ELLIPSIS
    <...MaskBuilder ...>
    >>> mb.to_array().shape
    (64, 80)
    """

    def __init__(self, shape: Sequence[int]) -> None:
        self.shape: Shape = _shape(shape)
        self.steps: list[MaskStep] = []

    def __repr__(self) -> str:
        return f"<MaskBuilder {self.shape[0]}x{self.shape[1]}, {len(self.steps)} step(s)>"

    def _push(self, op: str, array: Any, label: str) -> MaskBuilder:
        arr = np.asarray(array)
        if arr.shape != self.shape:
            raise XpcsInputError(f"{label}: shape {arr.shape} does not match the detector {self.shape}")
        self.steps.append(MaskStep(op, arr.astype(bool, copy=True), label))
        return self

    def add(self, region: Any, label: str = "region") -> MaskBuilder:
        """Include ``region`` in the region of interest (union)."""
        return self._push("add", region, label)

    def subtract(self, region: Any, label: str = "region") -> MaskBuilder:
        """Remove ``region`` from the region of interest (e.g. a beam stop)."""
        return self._push("subtract", region, label)

    def intersect(self, good: Any, label: str = "mask") -> MaskBuilder:
        """Keep only pixels that are good in ``good`` (True/non-zero = good)."""
        return self._push("intersect", np.asarray(good) != 0, label)

    def threshold(self, image: Any, low: float | None = None, high: float | None = None) -> MaskBuilder:
        """Mark pixels outside [low, high] of ``image`` (and NaN) as bad."""
        return self.intersect(threshold(image, low, high), f"threshold[{low}, {high}]")

    def load(self, source: str | os.PathLike[str], invert: bool = False) -> MaskBuilder:
        """Intersect with a mask file (see :func:`load_mask`)."""
        return self.intersect(load_mask(source, self.shape, invert=invert), os.fspath(source))

    def blemish(self, blemish: Any) -> MaskBuilder:
        """Intersect with a detector blemish map (array or file; non-zero = good pixel)."""
        if isinstance(blemish, (str, os.PathLike)):
            return self.load(blemish)
        return self.intersect(blemish, "blemish")

    def undo(self) -> MaskStep | None:
        """Remove and return the last step (None when there is none)."""
        return self.steps.pop() if self.steps else None

    def clear(self) -> None:
        self.steps.clear()

    def roi(self) -> np.ndarray:
        """The region of interest alone (bool, True = inside)."""
        roi: np.ndarray | None = None
        for step in self.steps:
            if step.op == "add":
                roi = step.array.copy() if roi is None else roi | step.array
            elif step.op == "subtract":
                roi = (np.ones(self.shape, bool) if roi is None else roi) & ~step.array
        return np.ones(self.shape, bool) if roi is None else roi

    def good(self) -> np.ndarray:
        """The good-pixel mask alone (intersection of the bad-pixel masks)."""
        good = np.ones(self.shape, dtype=bool)
        for step in self.steps:
            if step.op == "intersect":
                good &= step.array
        return good

    def to_array(self) -> np.ndarray:
        """The mask: bool (H, W), True = pixel used."""
        return self.roi() & self.good()
