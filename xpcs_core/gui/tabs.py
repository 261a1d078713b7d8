"""The viewer's tab names (no Qt here: the CLI lists them in ``xpcs gui --help``)."""

from __future__ import annotations

TAB_NAMES = ("saxs-2d", "saxs-1d", "stability", "intensity", "g2", "fit", "diffusion", "two-time", "qmap",
             "average", "metadata")
"""Tab names accepted by ``--tab`` (the order of the tabs)."""
