"""The settings of a batch job: from CLI options or a job file (TOML), checked, as plain data.

A job file has the CLI's fields, e.g.::

    inputs = ["raw/*.h5", "results/A001_results.hdf"]   # globs are expanded, sorted
    output = "out"                                       # the output folder
    qmap = "qmap.h5"
    mode = "multitau"          # multitau | twotime | both
    bad_frames = "auto"        # or [3, 17] or "3,17,100-120" or a file
    frame_time = 0.001         # s, for raw stacks that do not record it (.npy)
    fit = true
    model = "single"
    bayes = false
    chains = 4                 # posterior settings (default: the sampler's own)
    average = true
    reject = "all"             # averaging rules: baseline, contrast, intensity, all, none
    scheduler = "tcp://10.0.0.5:8786"   # else a LocalCluster of `workers` processes
    workers = 4

Relative paths are taken relative to the job file's folder.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from xpcs_core.errors import XpcsFormatError, XpcsInputError

__all__ = ["MODES", "BatchSettings", "load_job", "settings_hash"]

MODES = ("multitau", "twotime", "both")
#: fields that say where and how to run, not what to compute (not part of an output's key)
RUN_FIELDS = ("inputs", "output", "scheduler", "workers", "tls_ca_file", "tls_cert", "tls_key")
_PATH_FIELDS = ("output", "qmap", "tls_ca_file", "tls_cert", "tls_key")


@dataclass(kw_only=True)
class BatchSettings:
    """What a batch does (see the module docstring for the fields)."""

    inputs: list[str] = field(default_factory=list)
    output: str = ""
    qmap: str | None = None
    mode: str = "multitau"
    bad_frames: str | list[int] | None = None
    frame_time: float | None = None
    fit: bool = False
    model: str = "single"
    bayes: bool = False
    chains: int | None = None
    warmup: int | None = None
    draws: int | None = None
    average: bool = False
    reject: str = "all"
    backend: str | None = None
    seed: int = 0
    scheduler: str | None = None
    workers: int | None = None
    tls_ca_file: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None

    def __post_init__(self) -> None:
        self.inputs = [os.fspath(p) for p in self.inputs]
        for name in _PATH_FIELDS:
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                setattr(self, name, os.fspath(value))

    def check(self) -> BatchSettings:
        """Raise XpcsInputError for a bad value; return self."""
        from xpcs_core.averaging.stats import parse_criteria
        from xpcs_core.fitting.models import list_models

        if not self.inputs:
            raise XpcsInputError("batch: no inputs")
        if not self.output:
            raise XpcsInputError("batch: no output folder (-o OUTDIR)")
        if self.mode not in MODES:
            raise XpcsInputError(f"mode: {self.mode!r} is not one of {', '.join(MODES)}")
        if self.model not in list_models():
            raise XpcsInputError(f"model: {self.model!r} is not one of {', '.join(list_models())}")
        if self.bayes and not self.fit:
            raise XpcsInputError("bayes: needs fit (--fit --bayes)")
        if self.fit and self.mode == "twotime":
            raise XpcsInputError("fit: needs multi-tau g2; use mode multitau or both with --fit")
        if self.workers is not None and (not isinstance(self.workers, int) or self.workers < 1):
            raise XpcsInputError(f"workers: must be a positive whole number, got {self.workers!r}")
        if self.frame_time is not None and not (isinstance(self.frame_time, int | float) and self.frame_time > 0):
            raise XpcsInputError(f"frame_time: must be a positive number of seconds, got {self.frame_time!r}")
        for name in ("chains", "warmup", "draws"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < (0 if name == "warmup" else 1)):
                raise XpcsInputError(f"{name}: must be a {'non-negative' if name == 'warmup' else 'positive'} "
                                     f"whole number, got {value!r}")
        if not isinstance(self.seed, int):
            raise XpcsInputError(f"seed: must be a whole number, got {self.seed!r}")
        parse_criteria(self.reject)
        tls = [n for n in ("tls_ca_file", "tls_cert", "tls_key") if getattr(self, n)]
        if tls and not self.scheduler and not os.environ.get("XPCS_DASK_SCHEDULER"):
            raise XpcsInputError(f"{tls[0]}: TLS options need an existing cluster (--scheduler tls://HOST:PORT)")
        return self

    def task_settings(self) -> dict[str, Any]:
        """What the tasks need: plain data only (str, int, bool, lists, None)."""
        out = {k: v for k, v in asdict(self).items() if k not in RUN_FIELDS}
        if isinstance(out["bad_frames"], list):
            out["bad_frames"] = [int(v) for v in out["bad_frames"]]
        elif isinstance(out["bad_frames"], str) and os.path.isfile(out["bad_frames"]):
            out["bad_frames"] = os.path.abspath(out["bad_frames"])
        if out["qmap"] is not None:  # workers may run in another folder
            out["qmap"] = os.path.abspath(out["qmap"])
        return out


def settings_hash(settings: dict[str, Any]) -> str:
    """SHA-256 of the settings as canonical JSON."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


_TYPES: dict[str, tuple[type, ...]] = {
    "inputs": (list, str), "output": (str,), "qmap": (str,), "mode": (str,), "bad_frames": (str, list),
    "frame_time": (float, int),
    "fit": (bool,), "model": (str,), "bayes": (bool,), "chains": (int,), "warmup": (int,),
    "draws": (int,), "average": (bool,), "reject": (str, list),
    "backend": (str,), "seed": (int,), "scheduler": (str,), "workers": (int,), "tls_ca_file": (str,),
    "tls_cert": (str,), "tls_key": (str,),
}


def load_job(path: str | os.PathLike[str]) -> BatchSettings:
    """Read a job file (TOML); XpcsFormatError for bad TOML, XpcsInputError for bad fields."""
    import tomllib

    job = Path(path)
    if not job.is_file():
        raise XpcsInputError(f"{job}: no such job file")
    try:
        doc = tomllib.loads(job.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise XpcsFormatError(job, f"not valid TOML: {exc}") from None
    known = {f.name for f in fields(BatchSettings)}
    for key, value in doc.items():
        if key not in known:
            raise XpcsInputError(f"{job}: unknown key {key!r} (known: {', '.join(sorted(known))})")
        types = _TYPES[key]
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            raise XpcsInputError(f"{job}: {key} = {value!r} should be {' or '.join(t.__name__ for t in types)}")
    base = job.parent
    if isinstance(doc.get("inputs"), str):
        doc["inputs"] = [doc["inputs"]]
    doc["inputs"] = expand_inputs([str(base / p) for p in doc.get("inputs", [])], where=str(job))
    for name in _PATH_FIELDS:
        if isinstance(doc.get(name), str):
            doc[name] = str(base / doc[name])
    if isinstance(doc.get("bad_frames"), str) and Path(base / doc["bad_frames"]).is_file():
        doc["bad_frames"] = str(base / doc["bad_frames"])
    if isinstance(doc.get("reject"), list):
        doc["reject"] = ",".join(str(v) for v in doc["reject"])
    return BatchSettings(**doc)


def expand_inputs(patterns: list[str], where: str = "inputs") -> list[str]:
    """Expand glob patterns (sorted); a pattern that matches nothing is an error."""
    out: list[str] = []
    for pattern in patterns:
        if glob.has_magic(pattern):
            matches = sorted(glob.glob(pattern))
            if not matches:
                raise XpcsInputError(f"{where}: {pattern!r} matches no file")
            out += matches
        else:
            out.append(pattern)
    return out
