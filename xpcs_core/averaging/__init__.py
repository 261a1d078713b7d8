"""Averaging of repeats with outlier rejection: ``xpcs_core.average(files, output)``.

See :func:`xpcs_core.averaging.engine.average` and docs/batch.md.
"""

from __future__ import annotations

from xpcs_core.averaging.engine import AverageReport, average
from xpcs_core.averaging.record import read_average_group
from xpcs_core.averaging.stats import CRITERIA, FileStats, RejectSettings

__all__ = ["CRITERIA", "AverageReport", "FileStats", "RejectSettings", "average", "read_average_group"]
