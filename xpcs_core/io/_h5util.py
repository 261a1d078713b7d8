"""Small typed-error helpers around h5py for the readers and writers in this package."""

from __future__ import annotations

import math
import os
import stat
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from xpcs_core.errors import XpcsFormatError

#: arrays with more elements than this are written LZF-compressed and chunked
COMPRESS_ABOVE = 8192
#: upper bound on the elements of one chunk (keeps chunks of huge C2 maps small)
MAX_CHUNK_ELEMENTS = 1 << 22

_KINDS = {
    "float": "fiub",  # numbers readable as float (bool/ints promote)
    "int": "iub",
    "number": "fiub",
}


def key_of(group: h5py.Group, key: str) -> str:
    """Absolute HDF5 path of ``key`` inside ``group`` (for error messages)."""
    base = group.name.rstrip("/")
    return key if key.startswith("/") else f"{base}/{key}"


def get_dataset(group: h5py.Group, key: str, path: object) -> h5py.Dataset | None:
    """The dataset at ``key`` or None when absent; a non-dataset or broken link raises."""
    full = key_of(group, key)
    try:
        link = group.get(key, getlink=True)
    except (KeyError, OSError, RuntimeError, ValueError) as exc:
        raise XpcsFormatError(path, f"cannot resolve: {exc}", full) from exc
    if link is None:
        return None
    check_links(group, key, path)
    try:
        obj = group.get(key)
    except (KeyError, OSError, RuntimeError, ValueError) as exc:
        raise XpcsFormatError(path, f"cannot open: {exc}", full) from exc
    if obj is None:
        raise XpcsFormatError(path, "dangling link", full)
    if not isinstance(obj, h5py.Dataset):
        raise XpcsFormatError(path, f"expected a dataset, found a {type(obj).__name__}", full)
    check_readable(obj, path)
    return obj


def read_dataset(ds: h5py.Dataset, path: object, selection: Any = ()) -> np.ndarray:
    """Read ``ds[selection]`` turning any HDF5 failure into XpcsFormatError."""
    try:
        return np.asarray(ds[selection])
    except Exception as exc:  # h5py raises OSError, ValueError, TypeError, RuntimeError
        raise XpcsFormatError(path, f"cannot read: {exc}", ds.name) from exc


def check_kind(ds: h5py.Dataset | np.ndarray, kind: str, path: object, key: str) -> None:
    """Raise unless the dtype of ``ds`` is numeric of the given kind."""
    dtype = ds.dtype
    if dtype.kind not in _KINDS[kind] or dtype.fields is not None:
        raise XpcsFormatError(path, f"expected {kind} data, found dtype {dtype}", key)


def read_array(
    group: h5py.Group,
    key: str,
    path: object,
    *,
    kind: str = "float",
    ndim: int | Sequence[int] | None = None,
    required: bool = True,
    allow_empty: bool = False,
) -> np.ndarray | None:
    """Read a numeric dataset with checks on kind, rank and emptiness.

    Returns None for an absent optional dataset.
    """
    full = key_of(group, key)
    ds = get_dataset(group, key, path)
    if ds is None:
        if required:
            raise XpcsFormatError(path, "required dataset is missing", full)
        return None
    check_kind(ds, kind, path, full)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if ds.ndim not in allowed:
            raise XpcsFormatError(
                path, f"expected {' or '.join(map(str, allowed))}-D data, found shape {ds.shape}", full
            )
    if not allow_empty and ds.size == 0:
        raise XpcsFormatError(path, f"dataset is empty (shape {ds.shape})", full)
    return read_dataset(ds, path)


def read_scalar(
    group: h5py.Group,
    key: str,
    path: object,
    *,
    required: bool = True,
    default: float | None = None,
    positive: bool = False,
    finite: bool = True,
) -> float | None:
    """Read a number stored as a scalar or a one-element array."""
    value = read_array(group, key, path, required=required, kind="number")
    if value is None:
        return default
    full = key_of(group, key)
    if value.size != 1:
        raise XpcsFormatError(path, f"expected a single number, found shape {value.shape}", full)
    number = float(value.reshape(-1)[0])
    if finite and not math.isfinite(number):
        raise XpcsFormatError(path, f"value is not finite ({number})", full)
    if positive and not number > 0:
        raise XpcsFormatError(path, f"value must be positive, found {number}", full)
    return number


def to_str(value: Any) -> str:
    """Decode bytes / numpy bytes / str / one-element arrays to ``str``."""
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise ValueError(f"expected one string, found shape {value.shape}")
        value = value.reshape(-1)[0]
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8", errors="replace").rstrip("\x00")
    if isinstance(value, (str, np.str_)):
        return str(value)
    raise TypeError(f"expected a string, found {type(value).__name__}")


def read_string(
    group: h5py.Group, key: str, path: object, *, required: bool = False, default: str | None = None
) -> str | None:
    """Read a string dataset stored as bytes or str (scalar or one-element array)."""
    full = key_of(group, key)
    ds = get_dataset(group, key, path)
    if ds is None:
        if required:
            raise XpcsFormatError(path, "required dataset is missing", full)
        return default
    if ds.dtype.kind not in "SOU":
        raise XpcsFormatError(path, f"expected a string, found dtype {ds.dtype}", full)
    try:
        return to_str(ds[()])
    except (TypeError, ValueError) as exc:
        raise XpcsFormatError(path, str(exc), full) from exc
    except Exception as exc:
        raise XpcsFormatError(path, f"cannot read: {exc}", full) from exc


def read_strings(group: h5py.Group, key: str, path: object) -> list[str] | None:
    """Read a 1-D array of strings (bytes or str); None when absent."""
    full = key_of(group, key)
    ds = get_dataset(group, key, path)
    if ds is None:
        return None
    if ds.dtype.kind not in "SOU":
        raise XpcsFormatError(path, f"expected strings, found dtype {ds.dtype}", full)
    raw = read_dataset(ds, path)
    try:
        return [to_str(v) for v in raw.reshape(-1)]
    except (TypeError, ValueError) as exc:
        raise XpcsFormatError(path, str(exc), full) from exc


def attr_str(obj: h5py.HLObject, name: str, default: str | None = None) -> str | None:
    """An attribute as ``str`` (bytes or str accepted); ``default`` when absent/unreadable."""
    try:
        if name not in obj.attrs:
            return default
        return to_str(obj.attrs[name])
    except Exception:
        return default


TIME_UNITS = {"s": 1.0, "sec": 1.0, "second": 1.0, "seconds": 1.0, "ms": 1e-3,
              "millisecond": 1e-3, "milliseconds": 1e-3, "us": 1e-6, "µs": 1e-6, "μs": 1e-6,
              "microsecond": 1e-6, "microseconds": 1e-6, "ns": 1e-9, "nanosecond": 1e-9,
              "nanoseconds": 1e-9}


def read_time(group: h5py.Group, key: str, path: object, **kwargs: Any) -> float | None:
    """A time in seconds: a ``units``/``unit`` attribute (s, ms, µs, ns) is converted,
    an unknown one refused (docs/file-format.md, "Errors and warnings")."""
    value = read_scalar(group, key, path, **kwargs)
    ds = group.get(key)
    unit = None if ds is None else (attr_str(ds, "units") or attr_str(ds, "unit"))
    if value is None or unit is None or not unit.strip():
        return value
    factor = TIME_UNITS.get(unit.strip().lower() if unit.strip() not in ("µs", "μs") else unit.strip())
    if factor is None:
        raise XpcsFormatError(path, f"unknown time unit {unit!r} (accepted: s, ms, us, ns)", key_of(group, key))
    return value * factor


def storage_dtype(array: np.ndarray) -> np.dtype:
    """float64 results are stored as float32; other dtypes unchanged."""
    return np.dtype(np.float32) if array.dtype == np.float64 else array.dtype


def chunks_for(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Chunks spanning the last two dimensions (one chunk per leading index), capped in size."""
    if len(shape) == 1:
        return (max(1, min(shape[0], MAX_CHUNK_ELEMENTS)),)
    rows, cols = shape[-2], shape[-1]
    rows = max(1, min(rows, MAX_CHUNK_ELEMENTS // max(cols, 1)))
    return (1,) * (len(shape) - 2) + (rows, max(1, cols))


def write_array(
    group: h5py.Group,
    key: str,
    data: Any,
    *,
    keep_float64: bool = False,
    compress: bool | None = None,
) -> h5py.Dataset:
    """Write ``data`` following docs/file-format.md: float64 -> float32 (unless ``keep_float64``),
    LZF compression and last-two-dims chunking above 8192 elements (or always / never
    when ``compress`` is True / False)."""
    array = np.asarray(data)
    dtype = array.dtype if keep_float64 else storage_dtype(array)
    if key in group:
        del group[key]
    if compress is None:
        compress = array.size > COMPRESS_ABOVE
    if compress and array.ndim >= 1 and array.size > 0:
        return group.create_dataset(
            key, data=array, dtype=dtype, compression="lzf", chunks=chunks_for(array.shape)
        )
    return group.create_dataset(key, data=array, dtype=dtype)


def write_string(group: h5py.Group, key: str, value: str) -> h5py.Dataset:
    """Write a scalar fixed-length byte string (UTF-8)."""
    if key in group:
        del group[key]
    return group.create_dataset(key, data=np.bytes_(value.encode("utf-8")))


def write_strings(group: h5py.Group, key: str, values: Sequence[str]) -> h5py.Dataset:
    """Write a 1-D array of fixed-length byte strings."""
    if key in group:
        del group[key]
    return group.create_dataset(key, data=np.array([v.encode("utf-8") for v in values], dtype="S"))


READ_WAIT_S = 10.0
"""How long a reader waits for a file another process is writing (HDF5 lock held)."""
MEMORY_BUDGET = 8 << 30
"""No single dataset read may need more memory than this."""
_warned_no_locks: set[str] = set()


def _regular_file(path: Path) -> None:
    """XpcsFormatError unless ``path`` is a readable regular file (never open a FIFO)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise XpcsFormatError(path, "no such file") from None
    except PermissionError:
        raise XpcsFormatError(path, "permission denied (a folder on its path is not searchable)") from None
    except OSError as exc:
        raise XpcsFormatError(path, f"cannot access: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise XpcsFormatError(path, "is a directory, not a result file")
    if not stat.S_ISREG(st.st_mode):
        raise XpcsFormatError(path, "not a regular file (a FIFO, socket or device)")
    if not os.access(path, os.R_OK):
        raise XpcsFormatError(path, "permission denied")
    if st.st_size == 0:
        raise XpcsFormatError(path, "empty file")


def open_h5_readonly(path: str | os.PathLike[str], wait_s: float | None = None) -> h5py.File:
    """Open an HDF5 file read-only, honouring HDF5 file locking.

    XpcsFormatError if it is missing, not a regular file, unreadable, empty, not HDF5 or
    corrupt, or still being written by another process after ``wait_s`` seconds
    (default :data:`READ_WAIT_S`; never read mid-update). Only on a file system without locks is it opened without them,
    with one warning per file system.
    """
    import hdf5plugin  # noqa: F401  (registers compression filters for h5py)

    path = Path(path)
    _regular_file(path)
    if not h5py.is_hdf5(path):
        raise XpcsFormatError(path, "not an HDF5 file")
    wait_s = READ_WAIT_S if wait_s is None else wait_s
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return h5py.File(path, "r")
        except OSError as exc:
            text = str(exc)
            if "unable to lock file" not in text:
                raise XpcsFormatError(path, f"cannot open HDF5 file (truncated or corrupt?): {exc}") from None
            if "temporarily unavailable" in text or "errno = 11" in text:
                if time.monotonic() < deadline:
                    time.sleep(0.1)
                    continue
                raise XpcsFormatError(
                    path, f"being written by another process (still locked after {wait_s:g} s); "
                    "try again when it is done") from None
            return _open_without_locks(path, exc)
        except Exception as exc:
            raise XpcsFormatError(path, f"cannot open HDF5 file: {exc}") from exc


def _open_without_locks(path: Path, exc: OSError) -> h5py.File:
    """The fallback for file systems that do not support locks (some NFS mounts)."""
    import warnings

    from xpcs_core.errors import XpcsFormatWarning

    key = str(os.stat(path).st_dev)
    if key not in _warned_no_locks:
        _warned_no_locks.add(key)
        warnings.warn(f"{path}: the file system does not support HDF5 file locks; "
                      "reading without them", XpcsFormatWarning, stacklevel=3)
    try:
        return h5py.File(path, "r", locking=False)
    except Exception as again:
        raise XpcsFormatError(path, f"cannot open HDF5 file: {again}") from exc


def check_links(group: h5py.Group, key: str, path: object) -> None:
    """Refuse an external link whose target is not a regular file (never open a FIFO:
    it would hang) or is missing."""
    link = group.get(key, getlink=True)
    if isinstance(link, h5py.ExternalLink):
        base = Path(group.file.filename).parent
        target = Path(link.filename)
        target = target if target.is_absolute() else base / target
        if not target.exists():
            raise XpcsFormatError(path, f"dangling link: external link to the missing file {link.filename}",
                                  key_of(group, key))
        if not target.is_file():
            raise XpcsFormatError(path, f"external link to {link.filename}, not a regular file",
                                  key_of(group, key))


def check_readable(ds: h5py.Dataset, path: object) -> None:
    """Before reading: virtual datasets need their source files (else HDF5 returns the
    fill value, zeros), and the declared size must be plausible for the file."""
    if ds.is_virtual:
        base = Path(ds.file.filename).parent
        for source in ds.virtual_sources():
            name = source.file_name
            if name != "." and not (Path(name) if Path(name).is_absolute() else base / name).is_file():
                raise XpcsFormatError(path, f"virtual dataset whose source file {name} is missing", ds.name)
        return
    nbytes = int(ds.size) * ds.dtype.itemsize
    if nbytes > MEMORY_BUDGET:
        raise XpcsFormatError(path, f"declares {nbytes / 2**30:.1f} GiB ({ds.shape}), over the "
                              f"{MEMORY_BUDGET >> 30} GiB read budget", ds.name)
    stored = ds.id.get_storage_size()
    if nbytes > (64 << 20) and stored * 10_000 < nbytes:
        raise XpcsFormatError(path, f"declares shape {ds.shape} ({nbytes >> 20} MiB) but the file "
                              f"holds {stored} bytes of it", ds.name)
