"""Atomic output (docs/reliability.md): write a temporary file in the target folder, then rename.

Temporary files are short-named ``.xpcs-<pid>-<random>.tmp`` (recognisable as ours, and
whatever the length of the target's name), removed on any error, on Ctrl-C and on
SIGTERM (:func:`install_signal_handlers` turns SIGTERM into ``SystemExit(143)``), and
those left by a process that no longer exists (SIGKILL, power loss) are swept by the
next write to that folder. In-place updates hold an exclusive lock (:func:`locked`)
so concurrent updates of one file serialize and all land.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import secrets
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from xpcs_core.errors import XpcsFormatError, XpcsInputError, XpcsWriteError

if TYPE_CHECKING:
    import h5py

__all__ = ["atomic_h5", "atomic_path", "install_signal_handlers", "locked", "sweep_stale"]

TEMP_PATTERN = re.compile(r"^\.xpcs-(\d+)-[0-9a-f]{8}\.tmp(\.\w+)?$")
LOCK_TIMEOUT_S = 600.0


def _same_file(a: Path, b: Path) -> bool:
    if not (a.exists() and b.exists()):
        return a.resolve() == b.resolve()
    return os.path.samefile(a, b)


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def sweep_stale(directory: str | os.PathLike[str]) -> list[Path]:
    """Remove our temporary files in ``directory`` whose writing process is gone."""
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(directory):
            match = TEMP_PATTERN.match(entry.name)
            if match and int(match.group(1)) != os.getpid() and not _alive(int(match.group(1))):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def _output_dir(target: Path) -> Path:
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise XpcsInputError(f"{target}: output folder {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise XpcsInputError(f"{target}: output folder {directory} is not writable")
    return directory


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    On any exception (Ctrl-C and SIGTERM included) the temporary file is removed and the
    exception re-raised; ``path`` is left as it was. The last extension of ``suffix``
    ends the temporary name, for writers that pick a format by extension (``".png"``).
    """
    target = Path(path)
    directory = _output_dir(target)
    sweep_stale(directory)
    ext = Path(f"x{suffix}").suffix
    ext = "" if ext == ".tmp" else ext
    tmp = directory / f".xpcs-{os.getpid()}-{secrets.token_hex(4)}.tmp{ext}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise XpcsInputError(f"{target}: cannot write in {directory}: {exc.strerror}") from None
    os.close(fd)
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

    The yielded ``h5py.File`` is a temporary file in ``path``'s folder -- an empty one,
    or a byte copy of ``copy_from`` (so a caller can add groups to a copy of an input
    file; the input itself is only read). On normal exit the file is closed and
    renamed onto ``path``; on an exception it is closed first (never left open: a
    handle on a deleted file can crash HDF5 at exit) and deleted, leaving ``path``
    untouched. Writing onto ``copy_from`` itself is refused unless ``allow_same=True``
    (in-place updates: hold :func:`locked` around the whole block).

    Raises:
        XpcsInputError: ``path`` is ``copy_from`` (without ``allow_same``), or the
            output folder does not exist or is not writable.
        XpcsFormatError: ``copy_from`` does not exist or is not an HDF5 file.
    """
    import h5py

    target = Path(path)
    source = Path(copy_from) if copy_from is not None else None
    if source is not None:
        if not source.is_file():
            raise XpcsFormatError(source, "no such file")
        if not h5py.is_hdf5(source):
            raise XpcsFormatError(source, "not an HDF5 file")
        if not allow_same and _same_file(source, target):
            raise XpcsInputError(f"{target}: refusing to overwrite the input file (pass allow_same=True)")
    with atomic_path(target) as tmp:
        try:
            if source is not None:
                shutil.copyfile(source, tmp)
            # no chunk cache: a failing write (full disk) raises where it happens, instead of
            # being reported by HDF5 as "exception ignored" when a dataset is closed
            handle = h5py.File(tmp, "r+" if source is not None else "w", rdcc_nbytes=0)
        except OSError as exc:
            raise _write_error(target, exc) from None
        fd = handle.id.get_vfd_handle()
        try:
            yield handle
        except OSError as exc:
            _discard(handle, fd)
            if exc.errno in _DISK_ERRNOS:
                raise _write_error(target, exc) from None
            raise
        except BaseException:
            _discard(handle, fd)
            raise
        try:
            handle.close()
        except Exception as exc:
            _discard(handle, fd)
            raise _write_error(target, exc) from None


_DISK_ERRNOS = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO)


def _write_error(target: Path, exc: BaseException) -> XpcsWriteError:
    text = " ".join(str(exc).split())
    for known in ("No space left on device", "File too large", "Disk quota exceeded"):
        if known in text:
            text = known
            break
    return XpcsWriteError(f"{target}: cannot write ({text[:200]}); nothing was changed")


def _discard(handle: h5py.File, fd: int) -> None:
    """Close a file whose writes fail (a full disk): point its descriptor at /dev/null
    first, so HDF5's final flush succeeds instead of failing again (or crashing at exit)."""
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    with contextlib.suppress(Exception):
        handle.close()


def _lock_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.xpcs-lock")


@contextlib.contextmanager
def locked(path: str | os.PathLike[str], timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold an exclusive lock for updating ``path`` in place (a lock file beside it).

    Concurrent updaters wait their turn (up to ``timeout_s``), so each reads the file
    as the previous one left it and every update lands. On a file system without
    locks the update goes ahead unlocked.
    """
    target = Path(path)
    lock = _lock_path(target)
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise XpcsInputError(f"{target}: cannot create the lock file {lock.name}: {exc.strerror}") from None
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                    break  # no locks on this file system
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() > deadline:
                    raise XpcsInputError(
                        f"{target}: still being updated by another process after {timeout_s:.0f} s"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def install_signal_handlers() -> None:
    """SIGTERM raises ``SystemExit(143)`` in the main thread, so every ``with`` block
    unwinds: temporary files are removed and HDF5 handles closed, as for Ctrl-C."""
    with contextlib.suppress(ValueError):  # not the main thread
        signal.signal(signal.SIGTERM, _terminate)
