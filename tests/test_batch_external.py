"""``xpcs batch`` against existing clusters: ``dask scheduler`` + ``dask worker`` processes on 127.0.0.1
(plain TCP, and TLS with a self-signed certificate made by openssl)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import xpcs_core as xc
from xpcs_core.errors import XpcsError, XpcsInputError
from xpcs_core.io.synthetic import SyntheticSpec, make_synthetic

from .conftest import run_xpcs

pytest.importorskip("distributed")
DASK = Path(sys.executable).parent / "dask"


def result_file(path: Path, seed: int) -> str:
    spec = SyntheticSpec.for_shape((48, 48), n_frames=2000, n_dyn=6, seed=seed, n_segments=0)
    xc.write_result(path, make_synthetic(spec))
    return str(path)


def _wait_for(path: Path, procs: list[subprocess.Popen], log: Path, timeout: float = 90) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and path.stat().st_size:
            try:
                return json.loads(path.read_text())
            except ValueError:
                pass
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.2)
    raise RuntimeError(f"dask scheduler did not start: {log.read_text()[-2000:]}")


def _start(tmp: Path, tls: list[str]) -> tuple[dict, Path, list[subprocess.Popen]]:
    """A scheduler and one worker process (one thread), both on 127.0.0.1; no dashboards."""
    if not DASK.exists():
        pytest.skip("the dask command is not installed")
    scheduler_file = tmp / "scheduler.json"
    log = tmp / "dask.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("XPCS_")}
    out = open(log, "w")
    procs = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(scheduler_file), *tls], stdout=out, stderr=subprocess.STDOUT,
                              env=env)]
    try:
        info = _wait_for(scheduler_file, procs, log)
        procs.append(subprocess.Popen([str(DASK), "worker", info["address"], "--nworkers", "1", "--nthreads", "1",
                                       "--host", "127.0.0.1", "--no-dashboard", "--memory-limit", "2GiB", *tls],
                                      stdout=out, stderr=subprocess.STDOUT, env=env))
    except BaseException:
        _stop(procs)
        raise
    return info, scheduler_file, procs


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in reversed(procs):
        p.terminate()
    for p in reversed(procs):
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@pytest.fixture(scope="module")
def external(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dask")
    info, scheduler_file, procs = _start(tmp, [])
    yield info["address"], scheduler_file
    _stop(procs)


def test_cli_batch_on_an_external_scheduler(tmp_path, external):
    address, _ = external
    assert address.startswith("tcp://127.0.0.1:")
    inputs = [result_file(tmp_path / f"r{k}.h5", k) for k in range(2)]
    res = run_xpcs("batch", *inputs, "--fit", "--backend", "numpy", "--scheduler", address, "-o",
                   str(tmp_path / "out"), "--json", timeout=300)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert [r["status"] for r in doc["rows"]] == ["ok", "ok"]
    assert all(abs(r["D_A2_per_s"] / 1e5 - 1) < 0.2 for r in doc["rows"])
    assert "1 worker(s)" in res.stderr


def test_scheduler_from_the_environment_and_a_scheduler_file(tmp_path, external):
    _, scheduler_file = external
    inputs = [result_file(tmp_path / "a.h5", 3)]
    res = run_xpcs("batch", *inputs, "-o", str(tmp_path / "out"), "--json",
                   env={"XPCS_DASK_SCHEDULER": str(scheduler_file)}, timeout=300)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["rows"][0]["status"] == "ok"
    res = run_xpcs("batch", *inputs, "-o", str(tmp_path / "out"), env={"XPCS_DASK_SCHEDULER": "http://x"})
    assert res.returncode == 2 and "XPCS_DASK_SCHEDULER" in res.stderr


def test_unreachable_scheduler_fails_cleanly(tmp_path, monkeypatch):
    from xpcs_core.batching import BatchSettings, cluster, run_batch

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 2.0)
    settings = BatchSettings(inputs=[result_file(tmp_path / "a.h5", 0)], output=str(tmp_path / "out"),
                             scheduler="tcp://127.0.0.1:9")
    with pytest.raises(XpcsError, match="cannot reach"):
        run_batch(settings)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> Path:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    tmp = tmp_path_factory.mktemp("tls")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(tmp / "key.pem"),
                    "-out", str(tmp / "cert.pem")], check=True, capture_output=True)
    return tmp


def test_tls_scheduler_with_certificates(tmp_path, certificate):
    cert, key = str(certificate / "cert.pem"), str(certificate / "key.pem")
    tls = ["--protocol", "tls", "--tls-ca-file", cert, "--tls-cert", cert, "--tls-key", key]
    info, _, procs = _start(tmp_path, tls)
    try:
        address = info["address"]
        assert address.startswith("tls://127.0.0.1:")
        inputs = [result_file(tmp_path / "a.h5", 0)]
        table = xc.batch(inputs, tmp_path / "out", scheduler=address, tls_ca_file=cert, tls_cert=cert,
                         tls_key=key, backend="numpy")
        assert list(table["status"]) == ["ok"]
        with pytest.raises(XpcsInputError, match="all three"):
            xc.batch(inputs, tmp_path / "out2", scheduler=address, tls_ca_file=cert)
    finally:
        _stop(procs)
