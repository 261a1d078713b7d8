"""``xpcs batch`` / ``xpcs_core.batch`` on a real Dask LocalCluster (two worker processes, started once)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import h5py
import numpy as np
import pytest

import xpcs_core as xc
from xpcs_core.averaging import read_average_group
from xpcs_core.batching import BatchSettings, load_job
from xpcs_core.batching.manifest import MANIFEST_NAME
from xpcs_core.batching.run import plan_inputs, run_batch
from xpcs_core.batching.tasks import input_kind
from xpcs_core.errors import XpcsFormatError, XpcsInputError
from xpcs_core.io.synthetic import SyntheticSpec, make_synthetic

from .conftest import run_xpcs

distributed = pytest.importorskip("distributed")

D_TRUE = 1e5  # Å²/s, the synthetic files' diffusion coefficient


def result_file(path: Path, seed: int, **kw) -> str:
    spec = SyntheticSpec.for_shape((48, 48), **{"n_frames": 2000, "n_dyn": 6, "seed": seed, "error_scale": 0.01,
                                                "n_segments": 0, **kw})
    xc.write_result(path, make_synthetic(spec))
    return str(path)


@pytest.fixture(scope="module")
def scheduler():
    """One LocalCluster (2 worker processes, 1 thread each) on 127.0.0.1 for the module."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", scheduler_port=0,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        yield cluster.scheduler_address


def run(inputs, outdir, scheduler, **kw):
    return xc.batch([str(p) for p in inputs], str(outdir), scheduler=scheduler, backend="numpy", **kw)


def rows_by_name(table) -> dict[str, dict]:
    return {Path(r["input"]).name: r for r in table.to_dict("records")}


# --------------------------------------------------------------- no cluster needed
def test_inputs_are_told_apart_by_content(tmp_path):
    assert input_kind(result_file(tmp_path / "a.h5", 0)) == "result"
    with h5py.File(tmp_path / "raw.h5", "w") as f:
        f["entry/data/data"] = np.zeros((4, 8, 8), np.uint16)
    assert input_kind(tmp_path / "raw.h5") == "raw"
    np.save(tmp_path / "stack.npy", np.zeros((4, 8, 8), np.uint16))
    assert input_kind(tmp_path / "stack.npy") == "raw"
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["something"] = 1
    with pytest.raises(XpcsFormatError, match="neither a result file"):
        input_kind(tmp_path / "other.h5")
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(XpcsFormatError, match="not an HDF5 file"):
        input_kind(tmp_path / "text.h5")


def test_outputs_are_checked_before_any_work(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    with pytest.raises(XpcsInputError, match="same name"):
        plan_inputs(BatchSettings(inputs=[str(tmp_path / "x/a.h5"), str(tmp_path / "y/a.h5")], output="o"))
    with pytest.raises(XpcsInputError, match="given twice"):
        plan_inputs(BatchSettings(inputs=["a.h5", "./a.h5"], output="o"))
    out = tmp_path / "out"
    with pytest.raises(XpcsInputError, match="also the output"):
        plan_inputs(BatchSettings(inputs=[str(out / "a.h5"), str(tmp_path / "a_results.h5")], output=str(out)))
    with pytest.raises(XpcsInputError, match="average"):
        plan_inputs(BatchSettings(inputs=[str(tmp_path / "average.h5")], output=str(out), average=True))
    with pytest.raises(XpcsInputError, match="mode"):
        BatchSettings(inputs=["a.h5"], output="o", mode="fast").check()
    with pytest.raises(XpcsInputError, match="needs fit"):
        BatchSettings(inputs=["a.h5"], output="o", bayes=True).check()
    with pytest.raises(XpcsInputError, match="TLS"):
        BatchSettings(inputs=["a.h5"], output="o", tls_cert="c.pem").check()


def test_job_file(tmp_path, monkeypatch):
    for k in range(3):
        result_file(tmp_path / f"r{k}.h5", k)
    job = tmp_path / "job.toml"
    job.write_text('inputs = ["r*.h5"]\noutput = "out"\nfit = true\nmodel = "stretched"\nworkers = 2\n'
                   'reject = ["baseline"]\n')
    s = load_job(job)
    assert s.inputs == [str(tmp_path / f"r{k}.h5") for k in range(3)]
    assert (s.output, s.fit, s.model, s.workers, s.reject) == (str(tmp_path / "out"), True, "stretched", 2, "baseline")
    job.write_text('inputs = ["r*.h5"]\noutputs = "out"\n')
    with pytest.raises(XpcsInputError, match="unknown key 'outputs'"):
        load_job(job)
    job.write_text('inputs = ["r*.h5"]\nworkers = "two"\n')
    with pytest.raises(XpcsInputError, match="workers"):
        load_job(job)
    job.write_text('inputs = ["nothing*.h5"]\n')
    with pytest.raises(XpcsInputError, match="matches no file"):
        load_job(job)
    job.write_text("inputs = [")
    with pytest.raises(XpcsFormatError, match="TOML"):
        load_job(job)


# --------------------------------------------------------------- on the cluster
def test_fit_batch_with_a_failing_file(tmp_path, scheduler):
    good = [result_file(tmp_path / f"r{k}.h5", k) for k in range(3)]
    (tmp_path / "broken.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)  # truncated HDF5
    table = run([*good, tmp_path / "broken.h5", tmp_path / "missing.h5"], tmp_path / "out", scheduler, fit=True)
    assert list(table["input"]) == [os.path.abspath(p) for p in
                                    [*good, tmp_path / "broken.h5", tmp_path / "missing.h5"]]
    rows = rows_by_name(table)
    for k in range(3):
        row = rows[f"r{k}.h5"]
        assert row["status"] == "ok" and row["kind"] == "result", row["reason"]
        assert abs(row["D_A2_per_s"] - D_TRUE) < 4 * row["D_A2_per_s_err"]
        assert row["bins_fitted"] == 6 and row["t_fit_s"] > 0
        with h5py.File(row["output"], "r") as f:
            assert "single" in f["xpcs/fit"] and "multitau" in f["xpcs"]
    assert rows["broken.h5"]["status"] == "failed" and "broken.h5" in rows["broken.h5"]["reason"]
    assert rows["missing.h5"]["status"] == "failed" and "no such file" in rows["missing.h5"]["reason"]
    assert sorted(p.name for p in (tmp_path / "out").glob("*.h5")) == ["r0.h5", "r1.h5", "r2.h5"]


def test_rerun_skips_up_to_date_outputs_and_retries_failed_ones(tmp_path, scheduler):
    paths = [result_file(tmp_path / f"r{k}.h5", k) for k in range(3)]
    late = tmp_path / "late.h5"
    late.write_text("not yet")
    inputs, out = [*paths, late], tmp_path / "out"
    first = rows_by_name(run(inputs, out, scheduler, fit=True))
    assert first["late.h5"]["status"] == "failed"
    result_file(late, 7)
    second = rows_by_name(run(inputs, out, scheduler, fit=True))
    assert [second[f"r{k}.h5"]["status"] for k in range(3)] == ["skipped"] * 3
    assert second["late.h5"]["status"] == "ok"
    assert second["r0.h5"]["D_A2_per_s"] == first["r0.h5"]["D_A2_per_s"]
    result_file(tmp_path / "r1.h5", 11)  # new content
    Path(second["r2.h5"]["output"]).unlink()  # a lost output
    third = rows_by_name(run(inputs, out, scheduler, fit=True))
    assert {n: r["status"] for n, r in third.items()} == {"r0.h5": "skipped", "r1.h5": "ok", "r2.h5": "ok",
                                                          "late.h5": "skipped"}
    fourth = rows_by_name(run(inputs, out, scheduler, fit=True, model="stretched"))  # other settings
    assert {r["status"] for r in fourth.values()} == {"ok"}


class Interrupt(Exception):
    pass


def test_interrupted_run_resumes(tmp_path, scheduler):
    paths = [result_file(tmp_path / f"r{k}.h5", k) for k in range(5)]
    out = tmp_path / "out"
    done: list[str] = []

    def stop_after_two(n, total, row):
        done.append(row["input"])
        if n == 2:
            raise Interrupt

    settings = BatchSettings(inputs=paths, output=str(out), fit=True, backend="numpy", scheduler=scheduler)
    with pytest.raises(Interrupt):
        run_batch(settings, progress=stop_after_two)
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert sorted(manifest["entries"]) == sorted(done)
    rows = {r["input"]: r["status"] for r in run_batch(settings).rows}
    assert sorted(p for p, s in rows.items() if s == "skipped") == sorted(done)
    assert sorted(p for p, s in rows.items() if s == "ok") == sorted(set(map(os.path.abspath, paths)) - set(done))


def test_batch_average_rejects_the_corrupted_repeat(tmp_path, scheduler):
    good = [result_file(tmp_path / f"r{k}.h5", k, error_scale=0.002) for k in range(4)]
    bad = result_file(tmp_path / "corrupt.h5", 9, error_scale=0.002, baseline=1.15)
    table = run([*good, bad], tmp_path / "out", scheduler, fit=True, average=True)
    avg = table.to_dict("records")[-1]
    assert avg["kind"] == "average" and avg["status"] == "ok", avg["reason"]
    assert avg["n_used"] == 4 and avg["n_rejected"] == 1
    assert Path(avg["rejected"][0]["file"]).name == "corrupt.h5"
    assert abs(avg["D_A2_per_s"] - D_TRUE) < 4 * avg["D_A2_per_s_err"]
    rec = read_average_group(avg["output"])
    assert rec["used"] == [True] * 4 + [False]
    again = run([*good, bad], tmp_path / "out", scheduler, fit=True, average=True)
    assert set(again["status"]) == {"skipped"}


def test_cli_job_file_table_and_exit_code(tmp_path, scheduler):
    result_file(tmp_path / "r0.h5", 0)
    (tmp_path / "junk.h5").write_text("junk")
    job = tmp_path / "job.toml"
    job.write_text('inputs = ["*.h5"]\noutput = "out"\nfit = true\nmodel = "double"\n')
    res = run_xpcs("batch", "--job", str(job), "--scheduler", scheduler, "--model", "single", "--backend", "numpy",
                   timeout=300)
    assert res.returncode == 1, res.stderr
    assert "junk.h5" in res.stdout and "failed" in res.stdout and "r0.h5" in res.stdout
    assert "1 of 2 job(s) failed" in res.stderr and "dashboard" in res.stderr
    with h5py.File(tmp_path / "out" / "r0.h5", "r") as f:
        assert list(f["xpcs/fit"]) == ["single"]  # the option overrides the job file's model
    manifest = json.loads((tmp_path / "out" / MANIFEST_NAME).read_text())
    assert manifest["entries"][str(tmp_path / "r0.h5")]["status"] == "ok"
    assert run_xpcs("batch", "--job", str(job), str(tmp_path / "r0.h5")).returncode == 2  # not both
    assert run_xpcs("batch", str(tmp_path / "r0.h5")).returncode == 2  # no -o


def test_local_cluster_listens_on_localhost_only():
    from xpcs_core.batching.cluster import dashboard_link, dask_client

    with dask_client(workers=1) as client:
        info = client.scheduler_info()
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")
        assert all(addr.startswith("tcp://127.0.0.1:") for addr in info["workers"])
        assert all(w["nthreads"] == 1 and w["memory_limit"] > 0 for w in info["workers"].values())
        link = dashboard_link(client)
        assert link is not None and link.startswith("http://127.0.0.1:")


def test_raw_stacks_are_correlated_fitted_and_averaged(tmp_path, scheduler):
    from xpcs_core.correlation.rawsim import simulate_raw

    sim = simulate_raw(tmp_path / "sim", shape=(32, 32), n_frames=4000, n_dyn=4, seed=1)
    with h5py.File(sim["raw"]) as f:
        frames = f["entry/data/data"][()]
    for k in range(2):  # two halves of one run: two raw stacks of the same q-map
        with h5py.File(tmp_path / f"part{k}.h5", "w") as g:
            g["entry/data/data"] = frames[k * 2000:(k + 1) * 2000]
            g["entry/instrument/detector/frame_time"] = 1e-3
    np.save(tmp_path / "part2.npy", frames[2000:])  # the second half again, as .npy: needs frame_time
    inputs = [tmp_path / "part0.h5", tmp_path / "part1.h5", tmp_path / "part2.npy"]
    table = run(inputs, tmp_path / "out", scheduler, qmap=sim["qmap"], frame_time=1e-3, fit=True, average=True)
    rows = table.to_dict("records")
    assert [r["status"] for r in rows] == ["ok"] * 4, [r["reason"] for r in rows]
    assert [r["kind"] for r in rows] == ["raw", "raw", "raw", "average"]
    assert [Path(r["output"]).name for r in rows] == ["part0_results.h5", "part1_results.h5",
                                                      "part2_results.h5", "average.h5"]
    for r in rows:
        assert abs(r["D_A2_per_s"] / sim["diffusion_A2_per_s"] - 1) < 0.15
        assert r["kind"] == "average" or r["t_correlate_s"] > 0
    with xc.open_result(rows[1]["output"]) as a, xc.open_result(rows[2]["output"]) as b:
        np.testing.assert_allclose(a.g2, b.g2, rtol=1e-6)  # the same frames from HDF5 and from .npy
    assert rows[3]["n_used"] == 3
    no_qmap = rows_by_name(run(inputs[:1], tmp_path / "out2", scheduler))
    assert no_qmap["part0.h5"]["status"] == "failed" and "q-map" in no_qmap["part0.h5"]["reason"]


@pytest.mark.slow
def test_bayes_batch_reports_convergence(tmp_path, scheduler):
    table = run([result_file(tmp_path / "a.h5", 0)], tmp_path / "out", scheduler, fit=True, bayes=True,
                chains=8, warmup=200, draws=300)
    row = table.to_dict("records")[0]
    assert row["status"] == "ok", row["reason"]
    assert 0 <= row["bins_converged"] <= row["bins_total"] == 6
    with h5py.File(row["output"], "r") as f:
        assert "posterior" in f["xpcs/fit/single"]
