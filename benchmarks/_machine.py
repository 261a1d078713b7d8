"""The machine a benchmark ran on, for the headers of benchmarks/results/*.txt."""

from __future__ import annotations

import platform


def cpu_model() -> str:
    """The CPU model name (Linux /proc/cpuinfo), else what platform says."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor()
