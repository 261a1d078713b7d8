"""Cost model of the automatic backend choice (docs/architecture.md, "Automatic choice").

Each backend declares, per hook family, an :class:`OpCost`: a fixed overhead per call
(dispatch, transfer), a cost per workload element, and a one-time cost of the first call
in a process (compilation, when not in a persistent cache). ``xpcs bench --calibrate``
measures them on this machine and stores them in the user cache folder, keyed by the
machine and the library versions; measured values win over declared ones.

Workload elements per family (what the core passes as ``workload``):

| family | elements |
|---|---|
| qmap, partition | pixels |
| binning | frames x pixels |
| lsq, posterior | q-bins x delays |
| multitau | frames x pixels |
| twotime | frames^2 x pixels |
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import threading
from pathlib import Path
from typing import Any, NamedTuple

from xpcs_core import config

__all__ = ["OpCost", "estimate", "calibration_path", "save_calibration", "mark_warm"]


class OpCost(NamedTuple):
    """Seconds: ``overhead_s + per_element_s * n`` per call, plus ``first_call_s`` once."""

    overhead_s: float
    per_element_s: float
    first_call_s: float = 0.0

    def seconds(self, n: float, first_call: bool) -> float:
        return self.overhead_s + self.per_element_s * n + (self.first_call_s if first_call else 0.0)


_warm: set[tuple[str, str]] = set()
_lock = threading.Lock()


def mark_warm(backend: str, family: str) -> None:
    """Record that ``backend`` has run ``family`` in this process (its compile is paid)."""
    with _lock:
        _warm.add((backend, family))


def _machine_key(versions: dict[str, str]) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    text = json.dumps({"node": platform.node(), "cpu": cpu, "cores": os.cpu_count(),
                       "versions": dict(sorted(versions.items()))}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def calibration_path() -> Path | None:
    """Where calibrated costs live (``XPCS_CACHE_DIR`` or the user cache folder); None when
    ``XPCS_CACHE_DIR=none``."""
    folder = config.cache_dir()
    return None if folder is None else folder / "costs.json"


def _calibrated() -> dict[str, Any]:
    path = calibration_path()
    if path is None or not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def save_calibration(backend: str, versions: dict[str, str], costs: dict[str, OpCost]) -> Path | None:
    """Store measured costs of ``backend`` for this machine and these library versions."""
    path = calibration_path()
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    data = _calibrated()
    data[f"{backend}:{_machine_key(versions)}"] = {k: list(v) for k, v in costs.items()}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)  # atomic: readers see the old or the new table
    return path


def cost_of(backend: str, info: Any, family: str) -> OpCost | None:
    """The calibrated cost of ``family`` on ``backend`` here, else the plugin's declared one."""
    stored = _calibrated().get(f"{backend}:{_machine_key(dict(info.library_versions))}", {})
    if family in stored:
        return OpCost(*stored[family])
    declared = (info.costs or {}).get(family)
    return None if declared is None else OpCost(*declared)


def estimate(backend: str, info: Any, family: str, n: float) -> float | None:
    """Estimated seconds of one call of ``family`` with ``n`` workload elements on
    ``backend``; None when the backend declares no cost for it."""
    cost = cost_of(backend, info, family)
    if cost is None:
        return None
    with _lock:
        first = (backend, family) not in _warm
    return cost.seconds(n, first)
