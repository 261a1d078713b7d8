"""Atomic HDF5 output: write to a temporary file in the target directory, then rename."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import h5py

from xpcs_core.errors import XpcsFormatError, XpcsInputError

__all__ = ["atomic_h5", "atomic_path"]


def _same_file(a: Path, b: Path) -> bool:
    if not (a.exists() and b.exists()):
        return a.resolve() == b.resolve()
    return os.path.samefile(a, b)


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    On an exception the temporary file is removed and the exception re-raised; ``path``
    is left as it was.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise XpcsInputError(f"{target}: output directory {directory} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=directory)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_h5(
    path: str | os.PathLike[str],
    copy_from: str | os.PathLike[str] | None = None,
    *,
    allow_same: bool = False,
) -> Iterator[h5py.File]:
    """Open an HDF5 file for writing that appears at ``path`` only when the block succeeds.

    The yielded ``h5py.File`` is a temporary file in ``path``'s directory -- an empty
    one, or a byte copy of ``copy_from`` (so a caller can add groups to a copy of an
    input file; the input itself is only read). On normal exit the file is closed and
    ``os.replace``\\ d onto ``path``; on an exception it is deleted and the exception
    re-raised, leaving ``path`` untouched.

    Writing onto ``copy_from`` itself is refused unless ``allow_same=True``.

    Raises:
        XpcsInputError: ``path`` is ``copy_from`` (without ``allow_same``), or the
            output directory does not exist.
        XpcsFormatError: ``copy_from`` does not exist or is not an HDF5 file.
    """
    target = Path(path)
    source = Path(copy_from) if copy_from is not None else None
    if source is not None:
        if not source.is_file():
            raise XpcsFormatError(source, "no such file")
        if not h5py.is_hdf5(source):
            raise XpcsFormatError(source, "not an HDF5 file")
        if not allow_same and _same_file(source, target):
            raise XpcsInputError(f"{target}: refusing to overwrite the input file (pass allow_same=True)")
    with atomic_path(target, suffix=".h5.tmp") as tmp:
        if source is not None:
            shutil.copyfile(source, tmp)
            handle = h5py.File(tmp, "r+")
        else:
            handle = h5py.File(tmp, "w")
        try:
            yield handle
        finally:
            handle.close()
