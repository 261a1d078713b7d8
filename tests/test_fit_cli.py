"""``xpcs fit`` end to end on files of known diffusion coefficient."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from tests.conftest import run_xpcs
from xpcs_core.cli.main import main
from xpcs_core.io.synthetic import SyntheticSpec, write_synthetic

D_TRUE = 1e5


@pytest.fixture(scope="module")
def synthetic_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fit") / "brownian.h5"
    write_synthetic(path, spec=SyntheticSpec.for_shape((128, 128), diffusion=D_TRUE, seed=0))
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fit_json(capsys, *args: str) -> dict:
    try:
        main(["fit", *args, "--json"])
    except SystemExit as exc:  # pragma: no cover - only on failure
        raise AssertionError(f"exit {exc.code}: {capsys.readouterr().err}") from exc
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_fit_json_recovers_d(capsys, synthetic_file, backend):
    out = _fit_json(capsys, str(synthetic_file), "--backend", backend)
    assert out["backend"] == backend and out["model"] == "single"
    assert len(out["bins"]) == 12
    for b in out["bins"]:
        assert set(b) >= {"q", "params", "success", "message"}
        assert set(b["params"]) == {"baseline", "contrast", "tau"}
        assert set(b["params"]["tau"]) >= {"value", "err"}
        assert b["success"] is True
    d = out["tauq"]["D_A2_per_s"]
    assert abs(d["value"] - D_TRUE) < 3 * d["err"], d
    assert abs(d["value"] / D_TRUE - 1) < 0.05, d
    assert abs(out["tauq"]["alpha"] - 2) < 0.05
    assert out["tauq"]["a"] == pytest.approx(1 / d["value"], rel=1e-9)


def test_fit_writes_copy_csv_and_leaves_input_alone(tmp_path, capsys, synthetic_file):
    before = _digest(synthetic_file)
    out_h5, out_csv = tmp_path / "fitted.h5", tmp_path / "fit.csv"
    main(["fit", str(synthetic_file), "--backend", "numpy", "--model", "stretched",
          "--fix", "baseline=1", "--bounds", "beta=0.5:1.5", "-o", str(out_h5), "--csv", str(out_csv)])
    text = capsys.readouterr().out
    assert "D =" in text and "Å²/s" in text
    assert _digest(synthetic_file) == before
    with h5py.File(out_h5, "r") as f:
        g = f["xpcs/fit/stretched"]
        assert f["xpcs/multitau/normalized_g2"].shape[1] == 12  # the input's data are kept
        np.testing.assert_array_equal(g["baseline"][()], 1.0)
        assert np.all((g["beta"][()] >= 0.5) & (g["beta"][()] <= 1.5))
        assert g.attrs["backend"] == "numpy"
        prov = json.loads(g.attrs["provenance"])
        assert prov["backend"] == "numpy" and "numpy" in prov["library_versions"]
        assert g["tauq"].attrs["D_A2_per_s"] > 0
    rows = list(csv.DictReader(out_csv.open()))
    assert len(rows) == 12 and {"q_1_per_A", "beta", "beta_err", "success"} <= set(rows[0])


def test_fit_in_place_adds_the_group(tmp_path, capsys, synthetic_file):
    copy = tmp_path / "copy.h5"
    copy.write_bytes(synthetic_file.read_bytes())
    main(["fit", str(copy), "--backend", "numpy", "--in-place", "--q-range", "0.005", "0.03"])
    capsys.readouterr()
    with h5py.File(copy, "r") as f:
        assert "xpcs/fit/single/tau" in f and "xpcs/multitau/normalized_g2" in f
        assert f["xpcs/fit/single/q"][()].min() >= 0.005


def test_bayes_json_has_diagnostics(capsys, synthetic_file):
    out = _fit_json(capsys, str(synthetic_file), "--backend", "numpy", "--bayes", "--q-range", "0.01", "0.03",
                    "--warmup", "500", "--draws", "1500", "--seed", "3")
    assert len(out["bins"]) == 5 and all(0.01 <= b["q"] <= 0.03 for b in out["bins"])
    for b in out["bins"]:
        diag = b["diagnostics"]
        assert set(diag) >= {"r_hat", "ess_bulk", "ess_tail", "divergences", "converged"}
        assert set(diag["r_hat"]) == {"baseline", "contrast", "tau"}
        assert isinstance(diag["divergences"], int) and isinstance(diag["converged"], bool)
        assert diag["ess_bulk"]["tau"] > 400
    assert out["tauq"]["D_A2_per_s"]["value"] > 0


def test_file_without_multitau_is_exit_2(tmp_path, synthetic_file):
    bad = tmp_path / "twotime_only.h5"
    bad.write_bytes(synthetic_file.read_bytes())
    with h5py.File(bad, "r+") as f:
        del f["xpcs/multitau"]
    res = run_xpcs("fit", str(bad))
    assert res.returncode == 2, res.stderr
    assert str(bad) in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args, message", [
    (["--fix", "tau"], "NAME=VALUE"),
    (["--bounds", "tau=1"], "NAME=LO:HI"),
    (["--fix", "gamma=1"], "no parameter 'gamma'"),
])
def test_bad_options_are_exit_2(synthetic_file, args, message):
    res = run_xpcs("fit", str(synthetic_file), "--backend", "numpy", *args)
    assert res.returncode == 2 and message in res.stderr, res.stderr


def test_registered_model_is_usable_from_the_cli(synthetic_file, capsys):
    import dataclasses

    from xpcs_core.fitting import models

    mine = dataclasses.replace(models.SINGLE, name="single_copy", description="a user's model")
    models.register_model(mine)
    try:
        out = _fit_json(capsys, str(synthetic_file), "--model", "single_copy", "--backend", "numpy")
        assert out["model"] == "single_copy"
        assert out["tauq"]["D_A2_per_s"]["value"] == pytest.approx(D_TRUE, rel=0.05)
    finally:
        models._REGISTRY.pop("single_copy")
    with pytest.raises(SystemExit) as exc:
        main(["fit", str(synthetic_file), "--model", "single_copy"])
    assert exc.value.code == 2
    assert "registered models: double, single, stretched" in capsys.readouterr().err


@pytest.mark.parametrize("args, says", [
    (["--seed", "-1"], "--seed"),
    (["--seed", str(2**70)], "--seed"),
    (["--fix", "tau=-1"], "fixed value of tau must lie in its physical domain"),
    (["--fix", "tau=0"], "fixed value of tau must lie in its physical domain"),
    (["--fix", "baseline=7"], "fixed value of baseline must lie within its bounds"),
    (["--temperature", "nan"], "--temperature"),
    (["--viscosity", "inf"], "--viscosity"),
    (["--temperature", "-3"], "--temperature"),
])
def test_bad_values_are_exit_2_one_line(synthetic_file, args, says):
    res = run_xpcs("fit", str(synthetic_file), "--backend", "numpy", *args)
    assert res.returncode == 2, res.stderr
    assert says in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("outputs", [
    lambda f, d: ["--csv", str(f)],                               # the input itself
    lambda f, d: ["-o", str(d / "o.h5"), "--csv", str(d / "o.h5")],  # two outputs, one file
    lambda f, d: ["-o", str(d / "nofolder" / "o.h5")],            # folder missing
    lambda f, d: ["--csv", str(d / "link.csv")],                  # a link to the input
    lambda f, d: ["--in-place", "--csv", str(f)],
])
def test_unsafe_outputs_refused_before_fitting(synthetic_file, tmp_path, outputs):
    import shutil

    source = tmp_path / "in.h5"
    shutil.copy(synthetic_file, source)
    (tmp_path / "link.csv").symlink_to(source)
    before = _digest(source)
    res = run_xpcs("fit", str(source), "--backend", "numpy", "--bayes", *outputs(source, tmp_path))
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert _digest(source) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.h5", "link.csv"]
