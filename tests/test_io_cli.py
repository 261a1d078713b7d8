"""``xpcs simulate`` and ``xpcs info`` end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import run_xpcs
from xpcs_core.cli.main import main
from xpcs_core.io.synthetic import multitau_delays

INFO_KEYS = {
    "layout",
    "analysis",
    "detector_shape",
    "n_frames",
    "frame_time_s",
    "energy_kev",
    "distance_m",
    "pixel_size_m",
    "beam_center_x",
    "beam_center_y",
    "n_dynamic_bins",
    "n_static_bins",
    "q_range",
    "tau_range_s",
    "n_tau",
    "twotime_bins",
}


def _run(capsys, *args: str) -> tuple[str, str]:
    try:
        main(list(args))
    except SystemExit as exc:  # pragma: no cover - only on failure
        raise AssertionError(f"exit {exc.code}: {capsys.readouterr().err}") from exc
    return capsys.readouterr()


@pytest.mark.parametrize("layout", ["nexus", "legacy"])
def test_simulate_then_info_json(tmp_path, capsys, layout):
    out = tmp_path / f"{layout}.h5"
    stdout, _ = _run(
        capsys,
        "simulate",
        str(out),
        "--layout",
        layout,
        "--shape",
        "64",
        "80",
        "--n-dyn",
        "6",
        "--n-phi",
        "2",
        "--n-frames",
        "2000",
        "--twotime",
        "--diffusion",
        "2e5",
        "--seed",
        "7",
    )
    assert stdout.startswith(f"wrote {out} ({layout}): 64x80 detector")
    assert "D = 200000" in stdout and "two-time bins" in stdout
    stdout, _ = _run(capsys, "info", str(out), "--json")
    info = json.loads(stdout)
    assert INFO_KEYS <= set(info)
    assert info["layout"] == layout and info["analysis"] == ["multitau", "twotime"]
    assert info["detector_shape"] == [64, 80] and info["n_frames"] == 2000
    assert info["frame_time_s"] == 1e-3 and info["energy_kev"] == 10.0
    assert info["distance_m"] == pytest.approx(5.0)
    assert info["pixel_size_m"] == pytest.approx(75e-6 * 512 / 64)
    assert info["beam_center_x"] == pytest.approx(200 / 512 * 80)
    assert info["beam_center_y"] == pytest.approx(180 / 512 * 64)
    assert info["n_dynamic_bins"] == 12 and 12 < info["n_static_bins"] <= 60
    assert 0.002 < info["q_range"][0] < info["q_range"][1] < 0.03
    assert (
        info["tau_range_s"] == pytest.approx([1e-3, 1.536])
        and info["n_tau"] == multitau_delays(2000).size == 38
    )
    assert 1 <= len(info["twotime_bins"]) <= 3


def test_info_plain_summary(tmp_path, capsys):
    out = tmp_path / "s.h5"
    _run(capsys, "simulate", str(out), "--shape", "32", "32", "--n-frames", "500")
    stdout, stderr = _run(capsys, "info", str(out))
    for text in ("layout", "nexus", "multitau", "frame time [s]", "q range [1/Å]", "[32, 32]"):
        assert text in stdout, text
    assert stderr == ""


def test_info_warns_on_dangling_link_in_one_line(tmp_path, capsys):
    import h5py

    out = tmp_path / "s.h5"
    _run(capsys, "simulate", str(out), "--shape", "32", "32", "--n-frames", "500")
    with h5py.File(out, "r+") as f:
        f["/xpcs/multitau/unnormalized_G2"] = h5py.ExternalLink("s_G2.hdf", "/G2IPIF")
    stdout, stderr = _run(capsys, "info", str(out), "--json")
    assert json.loads(stdout)["layout"] == "nexus"
    assert stderr.count("\n") == 1 and stderr.startswith("xpcs: warning: ") and "s_G2.hdf" in stderr


def test_info_bad_file_subprocess(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)  # HDF5 signature, nothing behind it
    proc = run_xpcs("info", str(bad))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("xpcs: error: ")
    assert str(bad) in proc.stderr and "Traceback" not in proc.stderr


def test_simulate_rejects_bad_options(tmp_path):
    proc = run_xpcs("simulate", str(tmp_path / "x.h5"), "--diffusion", "-1")
    assert proc.returncode == 2 and not (tmp_path / "x.h5").exists()


def test_import_xpcs_core_does_not_import_h5py():
    code = "import sys, xpcs_core; xpcs_core.open_result; print('h5py' in sys.modules)"
    lazy = "import sys, xpcs_core; print('h5py' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", lazy], capture_output=True, text=True).stdout.strip() == "False"
    )
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "True"
    )
