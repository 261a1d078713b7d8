"""Typed errors. Every error a user can cause names the file (or variable) and the problem."""

from __future__ import annotations


class XpcsError(Exception):
    """Base class of all xpcs errors."""


class XpcsInputError(XpcsError, ValueError):
    """Bad input given by the user: arguments, environment values, array shapes or values."""


class XpcsFormatError(XpcsInputError):
    """A file that cannot be read as what it claims to be.

    ``path`` is the file, ``key`` the HDF5 path (or other locator) at fault, if any.
    """

    def __init__(self, path: object, message: str, key: str | None = None) -> None:
        self.path = str(path)
        self.key = key
        self.reason = message
        where = f"{self.path}: {key}: " if key else f"{self.path}: "
        super().__init__(where + message)


class XpcsBackendError(XpcsError, RuntimeError):
    """A backend cannot be found, loaded, selected or cannot run the requested op."""


class BackendUnavailable(XpcsBackendError):
    """Raised by a plugin's ``xpcs_backend_load`` when its library cannot run here."""


class OpNotImplemented(XpcsBackendError):
    """The (explicitly requested) backend does not implement an op."""


class XpcsWriteError(XpcsError, OSError):
    """An output could not be written (disk full, quota, I/O error): nothing was changed."""


class XpcsCancelled(XpcsError):
    """A long job was cancelled by the user."""


class XpcsFormatWarning(UserWarning):
    """A file is readable but something in it is suspicious or missing (e.g. a dangling
    external link to optional data). Emitted with :func:`warnings.warn`."""
