"""``xpcs bench``: a table of every op on every backend, auto's choice, calibration."""

from __future__ import annotations

import json

from tests.conftest import run_xpcs


def test_bench_quick_json_and_calibrate(tmp_path):
    res = run_xpcs("bench", "--quick", "--op", "qmap", "--op", "lsq", "--calibrate", "--json",
                   env={"XPCS_CACHE_DIR": str(tmp_path)}, timeout=600)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    rows = out["rows"]
    assert [(r["family"], r["size"]) for r in rows] == [
        ("qmap", "256x256"), ("qmap", "1024x1024"), ("lsq", "12 bins"), ("lsq", "100 bins")]
    for r in rows:
        assert set(r["warm_s"]) >= {"numpy", "jax"} and r["auto"] in r["warm_s"]
        assert min(r["ratio_to_fastest"].values()) == 1.0
        assert all(v > 0 for v in r["warm_s"].values())
    stored = json.loads((tmp_path / "costs.json").read_text())
    assert {key.split(":")[0] for key in stored} >= {"numpy", "jax"}
    for table in stored.values():
        assert set(table) == {"qmap", "lsq"} and all(len(c) == 3 and min(c) >= 0 for c in table.values())
    assert out["calibrated"]["numpy"]["lsq"] == next(v for k, v in stored.items() if k.startswith("numpy"))["lsq"]


def test_bench_table_and_bad_op(tmp_path):
    res = run_xpcs("bench", "--quick", "--op", "twotime", env={"XPCS_CACHE_DIR": str(tmp_path)}, timeout=600)
    assert res.returncode == 0, res.stderr
    assert "auto picks" in res.stdout and "500 x 2000" in res.stdout and "2000 x 2000" in res.stdout
    res = run_xpcs("bench", "--op", "fft")
    assert res.returncode == 2 and "not a hook family" in res.stderr
