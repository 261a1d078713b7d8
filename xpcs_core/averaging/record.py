"""The ``/xpcs/average`` group: which files were averaged, with which weights, which were rejected.

Layout (one entry per input file, in the order given)::

    /xpcs/average/                 attrs: n_files, n_used, n_rejected, method, settings (JSON),
                                          notes (JSON list), format_version
        source_files               (n,) byte strings: the input paths
        used                       (n,) bool
        weight                     (n,) float64: share of the total g2 inverse-variance weight
                                   (0 for rejected files; the used ones sum to 1)
        n_frames                   (n,) int64: frames of each file (the SAXS weights)
        reason                     (n,) byte strings: why a file was rejected ('' if used)
        baseline, baseline_err, contrast, mean_intensity, stability   (n,) float64 statistics
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

FORMAT_VERSION = 1
GROUP = "xpcs/average"
_FLOATS = ("weight", "baseline", "baseline_err", "contrast", "mean_intensity", "stability")


def output_qmap(result: Any) -> Any:
    """The q-map object handed to ``ResultData`` for the averaged file (that of the first
    used input; every input has the same one)."""
    return result.qmap


def partition_key(result: Any) -> str:
    """What two files must share to be averaged: the SHA-256 ``hash`` of the q-map group
    (labels, mask and geometry)."""
    return str(result.qmap.hash)


def write_average_group(h5: Any, report: Any) -> None:
    """Write ``report`` (an :class:`AverageReport`) into the open, writable file ``h5``."""
    from xpcs_core.io._h5util import write_strings

    if GROUP in h5:
        del h5[GROUP]
    g = h5.require_group(GROUP)
    files = report.files
    g.attrs["n_files"] = len(files)
    g.attrs["n_used"] = len(report.used)
    g.attrs["n_rejected"] = len(report.rejected)
    g.attrs["method"] = "g2: inverse-variance weighted mean; SAXS: frame-weighted mean; two-time: mean"
    g.attrs["settings"] = json.dumps(report.settings)
    g.attrs["notes"] = json.dumps(report.notes)
    g.attrs["format_version"] = FORMAT_VERSION
    write_strings(g, "source_files", [s.path for s in files])
    g.create_dataset("used", data=np.array([s.used for s in files], dtype=bool))
    g.create_dataset("n_frames", data=np.array([s.n_frames for s in files], dtype=np.int64))
    write_strings(g, "reason", ["; ".join(s.reasons) for s in files])
    for name in _FLOATS:
        g.create_dataset(name, data=np.array([getattr(s, name) for s in files], dtype=np.float64))


def read_average_group(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``/xpcs/average`` group of an averaged file as a dict of lists and attributes."""
    from xpcs_core.errors import XpcsFormatError
    from xpcs_core.io._h5util import open_h5_readonly, read_strings, to_str

    with open_h5_readonly(path) as h5:
        if GROUP not in h5:
            raise XpcsFormatError(path, "not an averaged file (no /xpcs/average group)", f"/{GROUP}")
        g = h5[GROUP]
        out: dict[str, Any] = {k: (v.item() if hasattr(v, "item") else v) for k, v in g.attrs.items()}
        out["settings"] = json.loads(to_str(g.attrs["settings"]))
        out["notes"] = json.loads(to_str(g.attrs["notes"]))
        out["source_files"] = read_strings(g, "source_files", path)
        out["reason"] = read_strings(g, "reason", path)
        out["used"] = g["used"][()].astype(bool).tolist()
        out["n_frames"] = g["n_frames"][()].tolist()
        for name in _FLOATS:
            out[name] = g[name][()].tolist()
    return out
