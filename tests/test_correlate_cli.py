"""``xpcs simulate --raw`` -> ``xpcs correlate`` -> ``xpcs fit`` recovers D; ``xpcs regroup``;
bad input exits 2 with one line naming the file and the problem."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from xpcs_core.cli.main import main

D = 1e5


def _run(capsys, *args: str) -> str:
    try:
        main(list(args))
    except SystemExit as exc:  # pragma: no cover - only on failure
        raise AssertionError(f"exit {exc.code}: {capsys.readouterr().err}") from exc
    return capsys.readouterr().out


def _fails(capsys, *args: str) -> str:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("xpcs: error: "), err
    return err


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    args = ["simulate", "--raw", str(root / "sim"), "--frames", "2000", "--shape", "64", "64",
            "--rate", "1", "--contrast", "0.3", "--bad-frames", "4", "--seed", "2", "--json"]
    try:
        main(args)
    except SystemExit as exc:  # pragma: no cover
        raise AssertionError(f"simulate exited {exc.code}") from exc
    truth = json.loads((root / "sim" / "truth.json").read_text())
    return root, truth


def test_simulate_correlate_fit_recovers_D(simulated, capsys):
    root, truth = simulated
    assert truth["diffusion_A2_per_s"] == D and len(truth["bad_frames"]) == 4
    out = root / "result.h5"
    report = json.loads(_run(capsys, "correlate", truth["raw"], "--qmap", truth["qmap"], "--bad-frames", "auto",
                             "--save-g2ipif", "--backend", "numpy", "-o", str(out), "--json"))
    assert report["bad_frames"] == truth["bad_frames"] and report["frames_excluded"] == 4
    assert report["frames_used"] == 1996 and report["rate_fps"] > 0 and report["output"] == str(out)
    assert report["backend"]["backend"] == "numpy" and set(report["timings"]) >= {"pass", "write", "total"}
    fit = json.loads(_run(capsys, "fit", str(out), "--backend", "numpy", "--json"))
    d = fit["tauq"]["D_A2_per_s"]["value"]
    assert d == pytest.approx(D, rel=0.05)
    # regroup over a coarser q-map of the same detector
    qmap2 = root / "qmap6.h5"
    _run(capsys, "qmap", "--from", str(out), "--dyn-q", "6", "--sta-q", "30", "--q-scale", "log",
         "-o", str(qmap2))
    summary = json.loads(_run(capsys, "regroup", str(out), "--qmap", str(qmap2), "-o", str(root / "r6.h5"),
                              "--json"))
    assert summary["n_dynamic"] == 6
    with h5py.File(root / "r6.h5") as f:
        assert f["xpcs/multitau/normalized_g2"].shape[1] == 6


def test_progress_and_text_summary(simulated, capsys):
    root, truth = simulated
    text = _run(capsys, "correlate", truth["raw"], "--qmap", truth["qmap"], "--frames", "0:500", "--stride", "2",
                "--bad-frames", ",".join(map(str, truth["bad_frames"])), "--backend", "numpy",
                "-o", str(root / "small.h5"), "--mode", "both", "--bins", "10-11")
    assert "250 frames selected of 2000" in text and "two-time maps of bins 10, 11" in text
    assert f"wrote {root / 'small.h5'}" in text


def test_bad_input_exits_2(simulated, capsys, tmp_path):
    root, truth = simulated
    raw, qmap = truth["raw"], truth["qmap"]
    common = ["--backend", "numpy"]
    # q-map of another detector shape
    other = tmp_path / "other.h5"
    _run(capsys, "simulate", "--raw", str(tmp_path / "o"), "--frames", "16", "--shape", "32", "32")
    err = _fails(capsys, "correlate", raw, "--qmap", str(tmp_path / "o" / "qmap.h5"), *common, "-o", str(other))
    assert "64 x 64 pixels do not match the q-map's 32 x 32" in err
    assert not other.exists()
    # missing dataset
    err = _fails(capsys, "correlate", raw, "--qmap", qmap, "--dataset", "/entry/nope", *common, "-o", str(other))
    assert "raw.h5: /entry/nope: no frames" in err
    # .npy without a frame time; then a float stack with NaN at a correlated pixel
    with h5py.File(raw) as f:
        frames = f["entry/data/data"][:64]
    npy = tmp_path / "frames.npy"
    np.save(npy, frames)
    err = _fails(capsys, "correlate", str(npy), "--qmap", qmap, *common, "-o", str(other))
    assert "frames.npy: no frame time" in err and "--frame-time" in err
    floats = frames.astype(np.float32)
    floats[10, 40, 40] = np.nan
    np.save(npy, floats)
    err = _fails(capsys, "correlate", str(npy), "--qmap", qmap, "--frame-time", "1e-3", *common, "-o", str(other))
    assert "frames.npy: frame 10 holds NaN" in err
    # a non-numeric stack
    strings = tmp_path / "strings.h5"
    with h5py.File(strings, "w") as f:
        f["entry/data/data"] = np.array([[[b"ab"]]])
    err = _fails(capsys, "correlate", str(strings), "--qmap", qmap, *common, "-o", str(other))
    assert "strings.h5: /entry/data/data: frames must be real numbers" in err
    # output checks come first
    err = _fails(capsys, "correlate", raw, "--qmap", qmap, *common, "-o", str(tmp_path / "no" / "r.h5"))
    assert "does not exist" in err
    err = _fails(capsys, "correlate", raw, "--qmap", qmap, *common, "-o", raw)
    assert "-o is the same file as the input RAW" in err
    _fails(capsys, "correlate", raw, "--qmap", qmap, "--bad-frames", "3-x", *common, "-o", str(other))
    _fails(capsys, "correlate", str(tmp_path / "missing.h5"), "--qmap", qmap, *common, "-o", str(other))
    err = _fails(capsys, "regroup", raw, "--qmap", qmap, "-o", str(other))
    assert "raw.h5: not an XPCS result file" in err
    assert not other.exists()
    with pytest.raises(SystemExit) as exc:
        main(["simulate"])
    assert exc.value.code == 2
