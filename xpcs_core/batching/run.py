"""``batch``: correlate raw stacks, fit results and average them, one Dask task per file.

The client plans the outputs (checked before any work starts), submits one task per
input with its previous row from the manifest, records each row as it arrives and,
with ``average``, averages the good results in one more task. See docs/batch.md.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xpcs_core.batching.settings import BatchSettings, load_job
from xpcs_core.errors import XpcsInputError

__all__ = ["AVERAGE_NAME", "BatchOutcome", "batch", "run_batch"]

AVERAGE_NAME = "average.h5"
#: the columns shown first, in this order (rows may hold more)
COLUMNS = ("input", "kind", "status", "reason", "output", "D_um2_per_s", "D_um2_per_s_err", "D_A2_per_s",
           "D_A2_per_s_err", "bins_fitted", "bins_converged", "bins_total", "t_hash_s", "t_correlate_s",
           "t_fit_s", "t_total_s", "worker")
Progress = Callable[[int, int, dict[str, Any]], None]


@dataclass
class BatchOutcome:
    """Every input's row (in input order), then the average's row when one was asked for."""

    rows: list[dict[str, Any]]
    outdir: Path
    dashboard: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["status"] == "failed"]

    def table(self) -> Any:
        """A pandas DataFrame when pandas is installed, else the list of row dicts."""
        rows = [{**{c: r.get(c) for c in COLUMNS}, **r} for r in self.rows]
        try:
            import pandas as pd
        except ImportError:
            return rows
        frame = pd.DataFrame(rows)
        frame.attrs["dashboard"] = self.dashboard
        frame.attrs["outdir"] = str(self.outdir)
        return frame


def plan_inputs(settings: BatchSettings) -> list[str]:
    """Absolute input paths; refuse duplicates and outputs that would collide (before any work)."""
    from xpcs_core.batching.tasks import output_path

    outdir = os.path.abspath(settings.output)
    inputs = [os.path.abspath(p) for p in settings.inputs]
    seen: dict[str, str] = {}
    stems: dict[str, str] = {}
    for given, path in zip(settings.inputs, inputs, strict=True):
        if path in seen:
            raise XpcsInputError(f"{given}: given twice")
        seen[path] = given
        stem = Path(path).stem
        if stem in stems:
            raise XpcsInputError(f"{given} and {stems[stem]}: same name, their outputs in {settings.output} "
                                 "would collide")
        stems[stem] = given
    planned = {output_path(p, outdir, kind): p for p in inputs for kind in ("raw", "result")}
    if settings.average:
        avg = os.path.join(outdir, AVERAGE_NAME)
        if avg in planned:
            raise XpcsInputError(f"{planned[avg]}: its output would be the average's {avg}")
        planned[avg] = "(average)"
    for out, src in planned.items():
        if out in seen:
            raise XpcsInputError(f"{seen[out]}: an input is also the output of {src}")
    return inputs


def _failed_row(inp: str, reason: str) -> dict[str, Any]:
    from xpcs_core.batching.tasks import _new_row

    row = _new_row(inp, "average" if inp == "(average)" else None)
    row.update(reason=reason, worker=None)
    return row


def _collect(future: Any, inp: str) -> dict[str, Any]:
    try:
        return future.result()
    except Exception as exc:  # the task itself never raises: a worker died or the task was lost
        return _failed_row(inp, f"worker failed: {type(exc).__name__}: {' '.join(str(exc).split())}")


def run_batch(settings: BatchSettings, *, progress: Progress | None = None,
              on_start: Callable[[str | None, int], None] | None = None) -> BatchOutcome:
    """Run the job; rows as they finish go to the manifest and to ``progress(done, total, row)``.

    ``on_start(dashboard_link, n_workers)`` is called once the cluster is up.
    """
    from distributed import as_completed

    from xpcs_core.batching.cluster import dashboard_link, dask_client
    from xpcs_core.batching.manifest import Manifest, locked
    from xpcs_core.batching.tasks import process_file

    settings.check()
    inputs = plan_inputs(settings)
    outdir = Path(settings.output).absolute()
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise XpcsInputError(f"{outdir}: cannot create the output folder ({exc.strerror})") from None
    if not os.access(outdir, os.W_OK):
        raise XpcsInputError(f"{outdir}: the output folder is not writable")
    task_settings = settings.task_settings()
    total = len(inputs) + int(settings.average)
    rows: dict[str, dict[str, Any]] = {}
    with locked(outdir):
        manifest = Manifest(outdir)
        with dask_client(settings.scheduler, settings.workers, tls_ca_file=settings.tls_ca_file,
                         tls_cert=settings.tls_cert, tls_key=settings.tls_key) as client:
            link = dashboard_link(client)
            if on_start is not None:
                on_start(link, len(client.scheduler_info().get("workers", {})))
            run = uuid.uuid4().hex[:8]
            futures = {
                client.submit(process_file, {"input": inp, "outdir": str(outdir), "settings": task_settings,
                                             "previous": manifest.entries.get(inp)},
                              key=f"xpcs-file-{run}-{k}", pure=False): inp
                for k, inp in enumerate(inputs)
            }
            try:
                for future in as_completed(futures):
                    inp = futures[future]
                    rows[inp] = _collect(future, inp)
                    manifest.update(rows[inp])
                    if progress is not None:
                        progress(len(rows), total, rows[inp])
                if settings.average:
                    rows["(average)"] = _average(client, inputs, rows, outdir, task_settings, manifest, run)
                    manifest.update(rows["(average)"])
                    if progress is not None:
                        progress(len(rows), total, rows["(average)"])
            except BaseException:
                client.cancel(list(futures))
                raise
            finally:
                manifest.save(force=True)
    ordered = [rows[i] for i in inputs] + ([rows["(average)"]] if settings.average else [])
    return BatchOutcome(rows=ordered, outdir=outdir, dashboard=link)


def _average(client: Any, inputs: list[str], rows: dict[str, dict[str, Any]], outdir: Path,
             task_settings: dict[str, Any], manifest: Any, run: str) -> dict[str, Any]:
    from xpcs_core.batching.tasks import average_task

    sources = [rows[i]["result"] for i in inputs if rows[i]["status"] in ("ok", "skipped") and rows[i]["result"]]
    if not sources:
        return _failed_row("(average)", "no input was processed: nothing to average")
    job = {"sources": sources, "output": str(outdir / AVERAGE_NAME), "settings": task_settings,
           "previous": manifest.average}
    return _collect(client.submit(average_task, job, key=f"xpcs-average-{run}", pure=False), "(average)")


def batch(
    inputs: Sequence[str | os.PathLike[str]] | None = None,
    output: str | os.PathLike[str] | None = None,
    *,
    job: str | os.PathLike[str] | None = None,
    qmap: str | os.PathLike[str] | None = None,
    mode: str | None = None,
    bad_frames: str | Sequence[int] | None = None,
    frame_time: float | None = None,
    fit: bool | None = None,
    model: str | None = None,
    bayes: bool | None = None,
    chains: int | None = None,
    warmup: int | None = None,
    draws: int | None = None,
    average: bool | None = None,
    reject: str | None = None,
    backend: str | None = None,
    seed: int | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    tls_ca_file: str | None = None,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    progress: Progress | None = None,
) -> Any:
    """Run a batch (see docs/batch.md) and return its summary: a pandas DataFrame (one row
    per input, then the average; ``.attrs["dashboard"]``) or, without pandas, a list of dicts.

    Settings come from the arguments, over those of the ``job`` file (TOML) when given;
    ``None`` keeps the job's (or the default) value.
    """
    settings = load_job(job) if job is not None else BatchSettings()
    given = {"qmap": qmap, "mode": mode, "bad_frames": bad_frames, "frame_time": frame_time,
             "fit": fit, "model": model, "bayes": bayes,
             "chains": chains, "warmup": warmup, "draws": draws,
             "average": average, "reject": reject, "backend": backend, "seed": seed, "scheduler": scheduler,
             "workers": workers, "tls_ca_file": tls_ca_file, "tls_cert": tls_cert, "tls_key": tls_key}
    for name, value in given.items():
        if value is not None:
            setattr(settings, name, os.fspath(value) if isinstance(value, os.PathLike) else value)
    if isinstance(settings.bad_frames, Sequence) and not isinstance(settings.bad_frames, str):
        settings.bad_frames = [int(v) for v in settings.bad_frames]
    if inputs is not None:
        settings.inputs = [os.fspath(p) for p in inputs]
    if output is not None:
        settings.output = os.fspath(output)
    return run_batch(settings, progress=progress).table()
