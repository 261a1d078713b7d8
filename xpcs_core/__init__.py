"""xpcs_core: XPCS analysis with interchangeable compute backends.

Importing this package is cheap: it imports neither jax, cupy, numpyro nor Qt, and
loads submodules on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import Any

from xpcs_core.errors import (
    BackendUnavailable,
    OpNotImplemented,
    XpcsBackendError,
    XpcsCancelled,
    XpcsError,
    XpcsFormatError,
    XpcsInputError,
)

__version__ = "0.1.0"

# public name -> module that defines it (imported on first access)
_LAZY: dict[str, str] = {
    "list_backends": "xpcs_core.backends",
    "get_backend": "xpcs_core.backends",
    "set_backend": "xpcs_core.backends",
    "Backend": "xpcs_core.backends",
    "BackendInfo": "xpcs_core.backend_info",
    "Provenance": "xpcs_core.backend_info",
    "Geometry": "xpcs_core.geometry",
    "QMap": "xpcs_core.qmap",
    "compute_qmap": "xpcs_core.qmap",
    "write_qmap": "xpcs_core.io.qmap_file",
    "read_qmap": "xpcs_core.io.qmap_file",
    "PartitionSpec": "xpcs_core.partition",
    "Partition": "xpcs_core.partition",
    "Binning": "xpcs_core.partition",
    "make_partition": "xpcs_core.partition",
    "binned_mean": "xpcs_core.partition",
    "MaskBuilder": "xpcs_core.masks",
    "load_mask": "xpcs_core.masks",
    "open_result": "xpcs_core.io.result",
    "XpcsResult": "xpcs_core.io.result",
    "write_result": "xpcs_core.io.writer",
    "ResultData": "xpcs_core.io.data",
    "MultitauData": "xpcs_core.io.data",
    "TwotimeData": "xpcs_core.io.data",
    "atomic_h5": "xpcs_core.io.atomic",
    "QmapGroup": "xpcs_core.io.qmap_group",
    "read_qmap_group": "xpcs_core.io.qmap_group",
    "write_qmap_group": "xpcs_core.io.qmap_group",
    "fit_g2": "xpcs_core.fitting.api",
    "fit_tauq": "xpcs_core.fitting.tauq",
    "FitResult": "xpcs_core.fitting.result",
    "TauQFit": "xpcs_core.fitting.tauq",
    "G2Model": "xpcs_core.fitting.models",
    "register_model": "xpcs_core.fitting.models",
    "get_model": "xpcs_core.fitting.models",
    "list_models": "xpcs_core.fitting.models",
    "SamplerSettings": "xpcs_core.fitting.problem",
    "correlate": "xpcs_core.correlation",
    "regroup": "xpcs_core.correlation",
    "average": "xpcs_core.averaging",
    "batch": "xpcs_core.batching",
}

__all__ = [
    "BackendUnavailable",
    "OpNotImplemented",
    "XpcsBackendError",
    "XpcsCancelled",
    "XpcsError",
    "XpcsFormatError",
    "XpcsInputError",
    "__version__",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'xpcs_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
