"""The batch manifest ``OUTDIR/xpcs-batch.json``: the last row of every input, for reruns.

``{"format": 1, "entries": {input path: row}, "average": row | null}``. A row records the
input's content hash, the hash of the settings that produced its output, and the
output's size and modification time; a rerun skips a row whose three still match.
Written atomically; a manifest that cannot be read is set aside (everything reruns).
The folder is locked while a batch writes into it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from xpcs_core.errors import XpcsInputError

__all__ = ["MANIFEST_NAME", "Manifest", "locked"]

MANIFEST_NAME = "xpcs-batch.json"
FORMAT = 1
log = logging.getLogger(__name__)


class Manifest:
    """Rows by input path, saved atomically (at most every ``interval`` s unless forced)."""

    def __init__(self, outdir: Path, interval: float = 2.0) -> None:
        self.path = Path(outdir) / MANIFEST_NAME
        self.interval = interval
        self.entries: dict[str, dict[str, Any]] = {}
        self.average: dict[str, Any] | None = None
        self._saved = 0.0
        if self.path.exists():
            try:
                doc = json.loads(self.path.read_text())
                if doc.get("format") != FORMAT:
                    raise ValueError(f"format {doc.get('format')!r}")
                self.entries = dict(doc["entries"])
                self.average = doc.get("average")
            except (ValueError, KeyError, TypeError, OSError) as exc:
                aside = self.path.with_suffix(f".unreadable-{int(time.time())}.json")
                log.warning("%s: unreadable manifest (%s); moved to %s, every input reruns", self.path, exc, aside)
                with contextlib.suppress(OSError):
                    os.replace(self.path, aside)

    def update(self, row: dict[str, Any]) -> None:
        if row.get("kind") == "average":
            self.average = row
        else:
            self.entries[row["input"]] = row
        self.save()

    def save(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._saved < self.interval:
            return
        from xpcs_core.io.atomic import atomic_path

        text = json.dumps({"format": FORMAT, "entries": self.entries, "average": self.average}, indent=1)
        with atomic_path(self.path, suffix=".json.tmp") as tmp:
            tmp.write_text(text + "\n")
        self._saved = now


@contextlib.contextmanager
def locked(outdir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``OUTDIR/.xpcs-batch.lock`` (POSIX; a no-op elsewhere)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    path = Path(outdir) / ".xpcs-batch.lock"
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise XpcsInputError(f"{outdir}: another xpcs batch is writing into this folder") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
