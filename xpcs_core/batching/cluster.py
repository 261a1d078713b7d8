"""The Dask client of a batch: a LocalCluster on 127.0.0.1, or an existing cluster by address.

Default: a LocalCluster of ``workers`` processes (default: the CPU count), one thread
each (also for the numba kernels: ``NUMBA_NUM_THREADS=1`` unless set), memory split
evenly between them (``memory_limit="auto"``), no worker profiler; its scheduler,
workers and dashboard listen on 127.0.0.1 only. ``scheduler`` (or the environment
variable ``XPCS_DASK_SCHEDULER``): ``tcp://HOST:PORT``, ``tls://HOST:PORT`` or a
scheduler file (JSON, as ``dask scheduler --scheduler-file`` writes); ``tls://`` takes
certificates from ``tls_ca_file``/``tls_cert``/``tls_key`` or Dask's own configuration.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from xpcs_core.errors import XpcsError, XpcsInputError

__all__ = ["ENV_SCHEDULER", "dashboard_link", "dask_client", "scheduler_address"]

ENV_SCHEDULER = "XPCS_DASK_SCHEDULER"
_ADDRESS = re.compile(r"^(tcp|tls)://[^\s/:]+(:\d+)?/?$")
#: threads of the numba kernels (the correlator's): one per worker thread (see tasks.limit_threads)
THREADS_ENV = "NUMBA_NUM_THREADS"
#: seconds to wait for an existing cluster's scheduler, then for its first worker
CONNECT_TIMEOUT_S = 30.0
WORKER_WAIT_S = 60.0


def scheduler_address(scheduler: str | None) -> str | None:
    """The scheduler to use: ``scheduler``, else ``XPCS_DASK_SCHEDULER``, else None (a LocalCluster).

    Raises XpcsInputError for a value that is neither tcp://, tls:// nor a scheduler file.
    """
    where = "--scheduler"
    if not scheduler:
        scheduler = (os.environ.get(ENV_SCHEDULER) or "").strip() or None
        where = ENV_SCHEDULER
    if scheduler is None:
        return None
    if _ADDRESS.match(scheduler) or (scheduler.endswith(".json") and Path(scheduler).is_file()):
        return scheduler
    raise XpcsInputError(f"{where}={scheduler!r}: expected tcp://HOST:PORT, tls://HOST:PORT or a scheduler file")


def _security(address: str | None, ca: str | None, cert: str | None, key: str | None) -> Any:
    from distributed import Security

    files = {"tls_ca_file": ca, "tls_client_cert": cert, "tls_client_key": key}
    for name, value in files.items():
        if value is not None and not Path(value).is_file():
            raise XpcsInputError(f"{value}: no such file ({name.replace('_client', '')})")
    if any(files.values()):
        if not (ca and cert and key):
            raise XpcsInputError("TLS needs all three of --tls-ca-file, --tls-cert and --tls-key")
        return Security(**files, require_encryption=True)
    return Security()  # Dask's configuration (distributed.comm.tls.*)


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None, *, tls_ca_file: str | None = None,
                tls_cert: str | None = None, tls_key: str | None = None) -> Iterator[Any]:
    """Yield a connected ``distributed.Client``; close it (and a LocalCluster) afterwards."""
    address = scheduler_address(scheduler)
    security = _security(address, tls_ca_file, tls_cert, tls_key)
    with _quiet_dask():
        yield from _connect(address, security, workers)


@contextlib.contextmanager
def _quiet_dask() -> Iterator[None]:
    """Dask's INFO messages (on the scheduler of a LocalCluster) only with debug logging."""
    dlog = logging.getLogger("distributed")
    old = dlog.level
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        dlog.setLevel(logging.WARNING)
    try:
        yield
    finally:
        dlog.setLevel(old)


def _local_config() -> dict[str, Any]:
    """The workers' statistical profiler (the dashboard's Profile page) samples every
    thread every 10 ms: off for our CPU-bound tasks unless configured
    (``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=True``)."""
    if "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED" in os.environ:
        return {}
    return {"distributed.worker.profile.enabled": False}


def _connect(address: str | None, security: Any, workers: int | None) -> Iterator[Any]:
    import dask
    from distributed import Client, LocalCluster

    cluster = None
    try:
        if address is None:
            with warnings.catch_warnings(), dask.config.set(_local_config()):
                warnings.filterwarnings("ignore", message="Port .* is already in use")  # Dask picks another
                cluster = LocalCluster(n_workers=workers or _cpu_count(), threads_per_worker=1, processes=True,
                                       host="127.0.0.1", scheduler_port=0, dashboard_address="127.0.0.1:8787",
                                       memory_limit="auto", silence_logs=logging.ERROR,
                                       env={THREADS_ENV: os.environ.get(THREADS_ENV) or "1"})
            client = Client(cluster)
        elif address.endswith(".json"):
            client = Client(scheduler_file=address, security=security, timeout=CONNECT_TIMEOUT_S)
        else:
            client = Client(address, security=security, timeout=CONNECT_TIMEOUT_S)
    except Exception as exc:  # OSError, TimeoutError, TLS errors
        if cluster is not None:
            cluster.close()
        why = " ".join(str(exc).split()) or type(exc).__name__
        raise XpcsError(f"cannot reach the Dask scheduler {address or '(local)'}: {why}") from exc
    try:
        if address is not None:
            try:
                client.wait_for_workers(workers or 1, timeout=WORKER_WAIT_S)
            except TimeoutError:
                raise XpcsError(f"{address}: fewer than {workers or 1} worker(s) joined within "
                                f"{WORKER_WAIT_S:g} s") from None
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _cpu_count() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def dashboard_link(client: Any) -> str | None:
    """The dashboard URL (None when the scheduler serves none). Without bokeh installed on
    the scheduler's machine, the page only says to install ``bokeh>=3.1``."""
    try:
        if "dashboard" not in client.scheduler_info().get("services", {}):
            return None
        return client.dashboard_link
    except Exception:
        return None
