"""What a Dask worker runs: one input file, or the final average. Plain data in, plain data out.

A task receives paths and settings (str, int, bool, lists) and returns a row (a dict of
the same); it never unpickles anything read from an input file. Every error becomes
a failed row with its reason, so one bad file does not stop the others. An input whose
content hash and settings match the previous run's row, and whose output is still the
file that run wrote, is skipped.
"""

from __future__ import annotations

import hashlib
import math
import os
import socket
import time
from pathlib import Path
from typing import Any

from xpcs_core.batching.settings import settings_hash
from xpcs_core.errors import XpcsError, XpcsFormatError

__all__ = ["average_task", "file_digest", "input_kind", "output_path", "process_file"]

_RESULT_GROUPS = ("xpcs/multitau", "xpcs/twotime", "exchange")


def input_kind(path: str | os.PathLike[str]) -> str:
    """``"result"`` (has /xpcs/multitau, /xpcs/twotime or /exchange) or ``"raw"`` (a .npy
    stack, or HDF5 with /entry/data); XpcsFormatError for anything else."""
    from xpcs_core.io._h5util import open_h5_readonly

    p = Path(path)
    if p.suffix.lower() == ".npy":
        if not p.is_file():
            raise XpcsFormatError(p, "no such file")
        return "raw"
    with open_h5_readonly(p) as h5:
        if any(h5.get(g, getlink=True) is not None for g in _RESULT_GROUPS):
            return "result"
        if h5.get("entry/data", getlink=True) is not None:
            return "raw"
    raise XpcsFormatError(p, "neither a result file (/xpcs/multitau, /xpcs/twotime, /exchange) "
                             "nor a raw stack (/entry/data or .npy)")


def file_digest(path: str | os.PathLike[str], chunk: int = 1 << 22) -> str:
    """SHA-256 of a file's content."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def output_path(input_path: str, outdir: str, kind: str) -> str:
    """``OUTDIR/<stem>_results.h5`` for a raw stack, ``OUTDIR/<stem>.h5`` for a fitted result."""
    stem = Path(input_path).stem
    return str(Path(outdir) / (f"{stem}_results.h5" if kind == "raw" else f"{stem}.h5"))


def _stat(path: str | None) -> list[int] | None:
    if path is None or not os.path.exists(path):
        return None
    st = os.stat(path)
    return [int(st.st_size), int(st.st_mtime_ns)]


def _up_to_date(previous: dict[str, Any] | None, key: dict[str, str]) -> bool:
    if not previous or previous.get("status") not in ("ok", "skipped"):
        return False
    if any(previous.get(k) != v for k, v in key.items()):
        return False
    out = previous.get("output")
    return out is None or _stat(out) == previous.get("output_stat")


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if isinstance(exc, XpcsError) else f"{type(exc).__name__}: {text}"


def _num(v: Any) -> float | None:
    return None if v is None or not math.isfinite(float(v)) else float(v)


def _fit(result_path: str, save_to: str | None, settings: dict[str, Any], in_place: bool) -> dict[str, Any]:
    """Fit ``result_path``; write the fit (a copy with /xpcs/fit, or in place); summary fields."""
    from xpcs_core.fitting.api import fit_g2

    fit = fit_g2(result_path, model=settings["model"], bayes=settings["bayes"], seed=settings["seed"],
                 chains=settings["chains"], warmup=settings["warmup"], draws=settings["draws"],
                 backend=settings["backend"])
    fit.save(save_to, source=result_path, in_place=in_place)
    tq = fit.tauq
    out: dict[str, Any] = {
        "D_A2_per_s": _num(tq.D_A2_per_s) if tq is not None else None,
        "D_A2_per_s_err": _num(tq.D_A2_per_s_err) if tq is not None else None,
        "D_um2_per_s": _num(tq.D_um2_per_s) if tq is not None else None,
        "D_um2_per_s_err": _num(tq.D_um2_per_s_err) if tq is not None else None,
        "bins_total": int(fit.n_bins),
        "bins_fitted": int(fit.success.sum()),
        "bins_converged": None if fit.converged is None else int(fit.converged.sum()),
        "fit_backend": fit.provenance.get("backend"),
    }
    return out


def limit_threads() -> None:
    """One task per worker thread: the kernels get the worker's thread count, not every
    core of the node (as Dask does for OpenMP and BLAS); a NUMBA_NUM_THREADS set wins."""
    if os.environ.get("NUMBA_NUM_THREADS"):
        return
    try:
        from distributed import get_worker

        worker = get_worker()
        n = int(getattr(worker, "nthreads", None) or worker.state.nthreads)
    except (ImportError, ValueError, AttributeError):  # not on a Dask worker
        return
    os.environ["NUMBA_NUM_THREADS"] = str(max(1, n))


def _new_row(input_path: str, kind: str | None) -> dict[str, Any]:
    return {
        "input": input_path, "kind": kind, "status": "failed", "reason": "", "output": None, "result": None,
        "D_A2_per_s": None, "D_A2_per_s_err": None, "D_um2_per_s": None, "D_um2_per_s_err": None,
        "bins_total": None, "bins_fitted": None, "bins_converged": None,
        "t_hash_s": 0.0, "t_correlate_s": 0.0, "t_fit_s": 0.0, "t_total_s": 0.0,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
    }


def _skipped(row: dict[str, Any], previous: dict[str, Any], t0: float) -> dict[str, Any]:
    keep = {k: v for k, v in previous.items() if k not in ("worker", "t_hash_s") and not k.startswith("t_")}
    row.update(keep)
    row.update(status="skipped", reason="up to date", t_total_s=time.perf_counter() - t0)
    return row


def process_file(job: dict[str, Any]) -> dict[str, Any]:
    """Correlate (raw) and/or fit (``settings["fit"]``) one input; return its summary row.

    ``job``: ``input`` (path), ``outdir``, ``settings`` (:meth:`BatchSettings.task_settings`)
    and ``previous`` (the row of the last run, or None).
    """
    t0 = time.perf_counter()
    limit_threads()
    inp, settings = str(job["input"]), job["settings"]
    row = _new_row(inp, None)
    try:
        kind = row["kind"] = input_kind(inp)
        t = time.perf_counter()
        row["input_hash"] = file_digest(inp)
        wanted = {"kind": kind, "fit": settings["fit"]}
        if settings["fit"]:
            wanted.update(model=settings["model"], bayes=settings["bayes"], seed=settings["seed"],
                          backend=settings["backend"])
            if settings["bayes"]:
                wanted.update(chains=settings["chains"], warmup=settings["warmup"], draws=settings["draws"])
        if kind == "raw":
            if not settings.get("qmap"):
                raise XpcsFormatError(inp, "a raw stack needs a q-map (--qmap)")
            bad = settings["bad_frames"]
            if isinstance(bad, str) and os.path.isfile(bad):
                bad = [bad, file_digest(bad)]  # a file of bad frames: its content counts
            wanted.update(qmap=file_digest(settings["qmap"]), mode=settings["mode"], bad_frames=bad,
                          frame_time=settings["frame_time"], backend=settings["backend"])
        from xpcs_core import __version__

        wanted["version"] = __version__
        row["settings_hash"] = settings_hash(wanted)
        row["t_hash_s"] = time.perf_counter() - t
        key = {"input_hash": row["input_hash"], "settings_hash": row["settings_hash"]}
        previous = job.get("previous")
        if _up_to_date(previous, key):
            return _skipped(row, previous, t0)
        out = output_path(inp, job["outdir"], kind) if kind == "raw" or settings["fit"] else None
        if kind == "raw":
            row["t_correlate_s"] = _correlate(inp, out, settings)
        result = out if kind == "raw" else inp
        if settings["fit"]:
            t = time.perf_counter()
            row.update(_fit(result, None if kind == "raw" else out, settings, in_place=kind == "raw"))
            row["t_fit_s"] = time.perf_counter() - t
            result = out
        row.update(status="ok", output=out, result=result, output_stat=_stat(out))
    except Exception as exc:  # one line per failed file; the batch goes on
        row["reason"] = _reason(exc)
    row["t_total_s"] = time.perf_counter() - t0
    return row


def _correlate(raw: str, out: str, settings: dict[str, Any]) -> float:
    import xpcs_core

    correlate = getattr(xpcs_core, "correlate", None)
    if correlate is None:
        raise XpcsError("this installation has no correlator (xpcs_core.correlate); raw stacks cannot be processed")
    t = time.perf_counter()
    correlate(raw, settings["qmap"], out, mode=settings["mode"], bad_frames=settings["bad_frames"],
              frame_time=settings["frame_time"], backend=settings["backend"])
    return time.perf_counter() - t


def average_task(job: dict[str, Any]) -> dict[str, Any]:
    """Average ``job["sources"]`` into ``job["output"]`` (and fit it with ``settings["fit"]``)."""
    from xpcs_core.averaging import average

    t0 = time.perf_counter()
    limit_threads()
    settings, out = job["settings"], str(job["output"])
    row = _new_row("(average)", "average")
    row.update(n_used=None, n_rejected=None, rejected=[])
    try:
        t = time.perf_counter()
        sources = [str(s) for s in job["sources"]]
        wanted = {"sources": [[s, file_digest(s)] for s in sources], "reject": settings["reject"],
                  **{k: settings[k] for k in ("fit", "model", "bayes", "chains", "warmup", "draws", "seed",
                                              "backend")}}
        row["settings_hash"] = settings_hash(wanted)
        row["input_hash"] = row["settings_hash"]
        row["t_hash_s"] = time.perf_counter() - t
        previous = job.get("previous")
        if _up_to_date(previous, {"settings_hash": row["settings_hash"]}):
            return _skipped(row, previous, t0)
        report = average(sources, out, reject=settings["reject"])
        row.update(n_used=len(report.used), n_rejected=len(report.rejected),
                   rejected=[{"file": s.path, "reason": "; ".join(s.reasons)} for s in report.rejected])
        if settings["fit"]:
            t = time.perf_counter()
            row.update(_fit(out, None, settings, in_place=True))
            row["t_fit_s"] = time.perf_counter() - t
        row.update(status="ok", output=out, result=out, output_stat=_stat(out))
    except Exception as exc:
        row["reason"] = _reason(exc)
    row["t_total_s"] = time.perf_counter() - t0
    return row
