"""Output paths of a command, checked together before any work (docs/reliability.md).

None may be an input or another output of the same command (the same file by inode,
not only by name: links and ``./x`` vs ``x`` included); its folder must exist and be
writable; it must not be a folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from xpcs_core.errors import XpcsInputError

__all__ = ["check_outputs"]

PathLike = str | os.PathLike[str]


def _identity(path: Path) -> tuple[int, int] | Path:
    """The file's (device, inode) when it exists, else its resolved path."""
    try:
        st = path.stat()
        return (st.st_dev, st.st_ino)
    except OSError:
        return path.resolve()


def check_outputs(outputs: Mapping[str, PathLike | None], inputs: Mapping[str, PathLike | None] = {},
                  *, in_place: Mapping[str, PathLike | None] = {}) -> None:
    """Refuse, with one :class:`XpcsInputError` naming the option, any unsafe output.

    ``outputs`` and ``inputs`` map an option name (``"-o"``, ``"--csv"``, ``"FILE"``)
    to a path or None (not given). ``in_place`` lists outputs that are meant to be
    the input they name (``--in-place``): they are only checked for writability.
    """
    seen: dict[tuple[int, int] | Path, str] = {}
    for name, path in inputs.items():
        if path is not None:
            seen[_identity(Path(path))] = name
    for name, path in {**outputs, **in_place}.items():
        if path is None:
            continue
        path = Path(path)
        if path.is_dir():
            raise XpcsInputError(f"{path}: {name} is a folder, not a file")
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            raise XpcsInputError(f"{path}: {name}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise XpcsInputError(f"{path}: {name}: folder {folder} is not writable")
        if path.exists() and not os.access(path, os.W_OK) and not os.access(folder, os.W_OK):
            raise XpcsInputError(f"{path}: {name} is not writable")
        if name in in_place:
            continue
        ident = _identity(path)
        if ident in seen:
            other = seen[ident]
            role = "the input" if other in inputs else "the output"
            raise XpcsInputError(f"{path}: {name} is the same file as {role} {other}")
        seen[ident] = name
