"""Raw detector frames, the correlator's input (docs/file-format.md, "Raw frames").

Sources: an HDF5 stack (``/entry/data/data`` by default, or ``dataset=``), an Eiger master
file whose ``/entry/data/data_000001``, ``data_000002``... are external links to data files
(read in order as one stack), a ``.npy`` stack (memory-mapped) or an in-memory
``(n, H, W)`` array. Compressed HDF5 (bitshuffle/LZ4 and the other ``hdf5plugin``
filters) is readable. Files are opened read-only and frames are read in chunks: the whole
stack never has to fit in memory.

Frame selection (:class:`FrameSelection`): frames ``begin:end``, every ``stride``-th of
them, then groups of ``avg`` consecutive selected frames averaged into one (the
correlator's time step is ``frame_time * stride * avg``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xpcs_core.errors import XpcsFormatError, XpcsInputError

__all__ = [
    "DEFAULT_DATASET",
    "FRAME_TIME_KEY",
    "FrameSelection",
    "RawFrames",
    "average_groups",
    "open_raw",
]

DEFAULT_DATASET = "/entry/data/data"
FRAME_TIME_KEY = "/entry/instrument/detector/frame_time"
#: metadata read when present: name -> HDF5 path
METADATA_KEYS: dict[str, str] = {
    "frame_time": FRAME_TIME_KEY,
    "count_time": "/entry/instrument/detector/count_time",
    "x_pixel_size": "/entry/instrument/detector/x_pixel_size",
    "detector_distance": "/entry/instrument/detector/detector_distance",
    "beam_center_x": "/entry/instrument/detector/beam_center_x",
    "beam_center_y": "/entry/instrument/detector/beam_center_y",
    "incident_wavelength": "/entry/instrument/beam/incident_wavelength",
}
START_TIME_KEY = "/entry/start_time"
_EIGER_NAME = re.compile(r"^data_(\d{6})$")
_NUMERIC_KINDS = "buif"


@dataclass(frozen=True)
class FrameSelection:
    """Frames ``begin:end`` (``end`` None = all), every ``stride``-th, averaged ``avg`` at a time."""

    begin: int = 0
    end: int | None = None
    stride: int = 1
    avg: int = 1

    def __post_init__(self) -> None:
        for name in ("stride", "avg"):
            value = getattr(self, name)
            if isinstance(value, bool) or not float(value).is_integer() or int(value) < 1:
                raise XpcsInputError(f"{name}: must be a positive integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        if self.begin < 0 or (self.end is not None and self.end <= self.begin):
            raise XpcsInputError(f"frames: expected 0 <= BEGIN < END, got {self.begin}:{self.end}")

    @classmethod
    def parse(cls, frames: Any = None, stride: int = 1, avg: int = 1) -> FrameSelection:
        """From ``"B:E"`` (either side may be empty), a ``(begin, end)`` pair or None."""
        if frames is None or frames == "":
            return cls(0, None, stride, avg)
        if isinstance(frames, str):
            begin, sep, end = frames.partition(":")
            try:
                if not sep:
                    raise ValueError
                b = int(begin) if begin.strip() else 0
                e = int(end) if end.strip() else None
            except ValueError:
                raise XpcsInputError(f"frames: expected BEGIN:END (e.g. 100:5000), got {frames!r}") from None
            return cls(b, e, stride, avg)
        try:
            b, e = frames
        except (TypeError, ValueError):
            raise XpcsInputError(f"frames: expected (begin, end) or 'BEGIN:END', got {frames!r}") from None
        return cls(int(b or 0), None if e is None else int(e), stride, avg)

    def indices(self, n_total: int, source: str = "raw") -> np.ndarray:
        """Selected raw frame indices (a multiple of ``avg`` of them); raise if fewer than 2 remain."""
        end = n_total if self.end is None else self.end
        if self.begin >= n_total or end > n_total:
            raise XpcsInputError(
                f"{source}: frames {self.begin}:{self.end if self.end is not None else ''} "
                f"outside the {n_total} frames of the stack"
            )
        idx = np.arange(self.begin, end, self.stride, dtype=np.int64)
        idx = idx[: idx.size - idx.size % self.avg]
        if idx.size // self.avg < 2:
            raise XpcsInputError(
                f"{source}: frames {self.begin}:{end} with stride {self.stride} and avg {self.avg} "
                f"leave {idx.size // self.avg} frame(s); correlation needs at least 2"
            )
        return idx

    def as_config(self, n_total: int) -> dict[str, int]:
        end = n_total if self.end is None else self.end
        return {"frame_begin": self.begin, "frame_end": end}


@dataclass
class RawFrames:
    """An open stack of raw frames; read it with :meth:`read` (a chunk at a time).

    ``name`` is the file (or ``"<array>"``) for messages, ``n_frames`` and ``shape`` (H, W)
    describe the stack, ``frame_time`` (s) comes from the file's metadata or the caller
    (None when neither has one), ``metadata`` holds the numbers of :data:`METADATA_KEYS`
    found in the file, ``location`` the dataset path(s) read.
    """

    name: str
    n_frames: int
    shape: tuple[int, int]
    dtype: np.dtype
    frame_time: float | None
    metadata: dict[str, float] = field(default_factory=dict)
    start_time: str | None = None
    location: str = ""
    path: Path | None = None
    _parts: list[Any] = field(default_factory=list, repr=False)
    _offsets: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64), repr=False)
    _file: Any = field(default=None, repr=False)

    def read(self, start: int, stop: int, step: int = 1) -> np.ndarray:
        """Frames ``start:stop:step`` as a NumPy ``(n, H, W)`` array of the stack's dtype."""
        return self.read_into(start, stop, step, None)

    def read_into(self, start: int, stop: int, step: int, out: np.ndarray | None) -> np.ndarray:
        """Frames ``start:stop:step`` into ``out[:n]`` (C-contiguous, the stack's dtype, shape
        (>= n, H, W)), a new array when ``out`` is None: HDF5 chunks are decompressed straight
        into it. Returns ``out[:n]``, or a view of the stack when the frames lie in one
        in-memory part (array, ``.npy`` map). Raises XpcsFormatError naming the file when
        HDF5 cannot read them (a failed filter, a truncated file...)."""
        pieces = []
        for k, part in enumerate(self._parts):
            lo, hi = int(self._offsets[k]), int(self._offsets[k + 1])
            first = start if start >= lo else start + -(-(lo - start) // step) * step
            last = min(stop, hi)
            if hi > start and lo < stop and first < last:
                pieces.append((part, np.s_[first - lo : last - lo : step], len(range(first, last, step)),
                               first, last))
        if len(pieces) == 1 and isinstance(pieces[0][0], np.ndarray):
            return np.asarray(pieces[0][0][pieces[0][1]])  # a view, no copy
        n = sum(p[2] for p in pieces)
        if out is None:
            out = np.empty((n, *self.shape), dtype=self.dtype)
        done = 0
        for part, src, count, first, last in pieces:
            try:
                if isinstance(part, np.ndarray):
                    out[done : done + count] = part[src]
                else:
                    part.read_direct(out, src, np.s_[done : done + count])
            except Exception as exc:  # h5py: OSError for a failed filter, truncated file...
                where = getattr(part, "name", None)
                raise XpcsFormatError(self.name, f"cannot read frames {first}:{last}: {exc}", where) from exc
            done += count
        return out[:n]

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> RawFrames:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_stack(name: str, shape: tuple[int, ...], dtype: np.dtype, where: str | None) -> None:
    if len(shape) != 3:
        raise XpcsFormatError(name, f"expected a 3-D stack (frames, rows, columns), found shape {shape}", where)
    if shape[0] == 0:
        raise XpcsFormatError(name, "the stack holds no frames", where)
    if dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None:
        raise XpcsFormatError(name, f"frames must be real numbers, found dtype {dtype}", where)


def _from_parts(name: str, parts: list[Any], where: list[str], **kwargs: Any) -> RawFrames:
    shapes = {tuple(p.shape[1:]) for p in parts}
    dtypes = {np.dtype(p.dtype) for p in parts}
    for p, w in zip(parts, where, strict=True):
        _check_stack(name, tuple(p.shape), np.dtype(p.dtype), w)
    if len(shapes) > 1:
        raise XpcsFormatError(name, f"data files of different frame shapes {sorted(shapes)}", where[0])
    if len(dtypes) > 1:
        raise XpcsFormatError(name, f"data files of different dtypes {sorted(map(str, dtypes))}", where[0])
    counts = [int(p.shape[0]) for p in parts]
    return RawFrames(
        name=name, n_frames=sum(counts), shape=tuple(int(n) for n in next(iter(shapes))),  # type: ignore[arg-type]
        dtype=next(iter(dtypes)), location=",".join(where), _parts=parts,
        _offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), **kwargs,
    )


def _eiger_parts(f: Any, name: str, group_path: str) -> tuple[list[Any], list[str]]:
    """Datasets ``data_000001``, ``data_000002``... of an Eiger master's data group, in order."""
    import h5py

    group = f.get(group_path)
    if not isinstance(group, h5py.Group):
        return [], []
    keys = sorted((k for k in group if _EIGER_NAME.match(k)), key=lambda k: int(k[5:]))
    parts, where = [], []
    for key in keys:
        full = f"{group.name.rstrip('/')}/{key}"
        link = group.get(key, getlink=True)
        try:
            ds = group[key]
        except (KeyError, OSError) as exc:
            target = f"{link.filename}:{link.path}" if isinstance(link, h5py.ExternalLink) else full
            raise XpcsFormatError(name, f"external data file {target} cannot be opened ({exc})", full) from None
        if not isinstance(ds, h5py.Dataset):
            raise XpcsFormatError(name, f"expected a dataset, found a {type(ds).__name__}", full)
        parts.append(ds)
        where.append(full)
    return parts, where


def _metadata(f: Any) -> tuple[dict[str, float], str | None]:
    import h5py

    out: dict[str, float] = {}
    for key, path in METADATA_KEYS.items():
        try:
            ds = f.get(path)
        except (KeyError, OSError):
            ds = None
        if isinstance(ds, h5py.Dataset) and ds.dtype.kind in "iuf" and ds.size == 1:
            value = float(np.asarray(ds[()]).reshape(-1)[0])
            if np.isfinite(value):
                out[key] = value
    start = None
    ds = f.get(START_TIME_KEY)
    if isinstance(ds, h5py.Dataset) and ds.dtype.kind in "SOU":
        raw = ds[()]
        start = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    return out, start


def _open_h5(path: Path, dataset: str | None) -> RawFrames:
    from xpcs_core.io._h5util import open_h5_readonly

    f = open_h5_readonly(path)  # registers the hdf5plugin filters first
    name = str(path)
    try:
        import h5py

        key = dataset or DEFAULT_DATASET
        obj = f.get(key)
        if isinstance(obj, h5py.Dataset):
            parts, where = [obj], [obj.name]
        elif isinstance(obj, h5py.Group) and dataset is not None:
            parts, where = _eiger_parts(f, name, key)
        else:
            parts, where = _eiger_parts(f, name, key.rsplit("/", 1)[0] or "/")
        if not parts:
            raise XpcsFormatError(
                name, "no frames: the dataset is missing" + ("" if dataset else
                " (nor Eiger data_000001... links beside it); give the dataset with --dataset"), key,
            )
        metadata, start = _metadata(f)
        frames = _from_parts(name, parts, where, frame_time=metadata.get("frame_time"),
                             metadata=metadata, start_time=start, path=path, _file=f)
    except BaseException:
        f.close()
        raise
    return frames


def _open_npy(path: Path) -> RawFrames:
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:
        raise XpcsFormatError(path, f"cannot read as a .npy stack: {exc}") from None
    return _from_parts(str(path), [arr], [""], frame_time=None, path=path)


def open_raw(source: Any, *, dataset: str | None = None, frame_time: float | None = None) -> RawFrames:
    """Open raw frames read-only: a path (HDF5, Eiger master, ``.npy``) or an ``(n, H, W)`` array.

    ``frame_time`` (s) overrides the file's ``/entry/instrument/detector/frame_time``.
    Raises XpcsFormatError (a file without frames, a non-numeric dtype, a missing data
    file) or XpcsInputError, naming the file and the problem.
    """
    if frame_time is not None and not (np.isfinite(frame_time) and frame_time > 0):
        raise XpcsInputError(f"frame_time: must be a positive number of seconds, got {frame_time!r}")
    if isinstance(source, np.ndarray):
        if dataset is not None:
            raise XpcsInputError("dataset: only for HDF5 files, not for an array")
        frames = _from_parts("<array>", [source], [""], frame_time=None)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise XpcsFormatError(path, "no such file")
        if path.is_dir():
            raise XpcsFormatError(path, "is a directory, not a raw data file")
        if path.suffix.lower() == ".npy":
            if dataset is not None:
                raise XpcsInputError(f"{path}: --dataset is for HDF5 files, not .npy stacks")
            frames = _open_npy(path)
        else:
            frames = _open_h5(path, dataset)
    else:
        raise XpcsInputError(f"raw: expected a file path or an (n, H, W) array, got {type(source).__name__}")
    if frame_time is not None:
        frames.frame_time = float(frame_time)
    return frames


def average_groups(block: np.ndarray, valid: np.ndarray, avg: int) -> tuple[np.ndarray, np.ndarray]:
    """Average ``avg`` consecutive frames of ``block`` (n·avg, P) over their valid ones.

    Returns float64 (n, P) frames and their validity (n,): a group with no valid frame
    is invalid (its frame is zero).
    """
    if avg == 1:
        return block, valid
    n = block.shape[0] // avg
    weights = valid[: n * avg].reshape(n, avg).astype(np.float64)
    counts = weights.sum(axis=1)
    grouped = block[: n * avg].reshape(n, avg, -1)
    sums = np.einsum("ga,gap->gp", weights, grouped, dtype=np.float64, optimize=False)
    out = sums / np.maximum(counts, 1.0)[:, None]
    return out, counts > 0


def iter_selected(frames: RawFrames, indices: np.ndarray, chunk: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(raw indices, frames (n, H, W))`` for consecutive pieces of ``indices``
    (an arithmetic progression from :meth:`FrameSelection.indices`), ``chunk`` at a time."""
    if indices.size == 0:
        return
    step = int(indices[1] - indices[0]) if indices.size > 1 else 1
    for lo in range(0, indices.size, chunk):
        piece = indices[lo : lo + chunk]
        yield piece, frames.read(int(piece[0]), int(piece[-1]) + 1, step)
