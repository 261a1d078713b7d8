"""Batch jobs on Dask distributed: ``xpcs_core.batch(inputs, outdir, ...)`` (docs/batch.md)."""

from __future__ import annotations

from xpcs_core.batching.run import BatchOutcome, batch, run_batch
from xpcs_core.batching.settings import BatchSettings, load_job

__all__ = ["BatchOutcome", "BatchSettings", "batch", "load_job", "run_batch"]
