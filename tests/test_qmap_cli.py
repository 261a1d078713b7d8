"""``xpcs qmap``: outputs, options, and exit 2 with a one-line reason on bad input."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from tests.conftest import run_xpcs
from xpcs_core.cli.main import main

GEOM = {"energy_kev": 10.0, "distance_m": 4.0, "pixel_size_m": 75e-6, "beam_center_x": 30.5,
        "beam_center_y": 20.25, "shape": [48, 64]}


def xpcs(capsys, *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def geom(tmp_path):
    path = tmp_path / "geom.json"
    path.write_text(json.dumps(GEOM))
    return path


def test_defaults_and_json(tmp_path, geom, capsys):
    out = tmp_path / "q.h5"
    code, stdout, _ = xpcs(capsys, "qmap", "--geometry", str(geom), "--backend", "numpy",
                           "--dyn-q", "6", "--sta-q", "24", "--json", "-o", str(out))
    assert code == 0
    summary = json.loads(stdout)
    assert summary["backend"] == "numpy"
    assert summary["dynamic"]["bins"] == [6, 1] and summary["static"]["bins"] == [24, 1]
    assert summary["pixels_used"] == 48 * 64
    with h5py.File(out, "r") as f:
        assert f["/qmap/dynamic_num_pts"][()].tolist() == [6, 1]
        assert f["/qmap/static_roi_map"][()].max() == summary["static"]["n_labels"]
        assert "maps" not in f["/qmap"]


def test_default_bin_counts(tmp_path, capsys):
    geom = tmp_path / "big.json"
    geom.write_text(json.dumps({**GEOM, "shape": [100, 120], "beam_center_x": 60.5}))
    code, stdout, _ = xpcs(capsys, "qmap", "--geometry", str(geom), "--backend", "numpy",
                           "-o", str(tmp_path / "q.h5"))
    assert code == 0, stdout
    with h5py.File(tmp_path / "q.h5", "r") as f:
        assert f["/qmap/dynamic_num_pts"][()].tolist() == [36, 1]
        assert f["/qmap/static_num_pts"][()].tolist() == [360, 1]
    assert "wrote" in stdout


def test_options_mask_log_phi_maps(tmp_path, geom, capsys):
    mask = np.ones((48, 64), np.uint8)
    mask[:10] = 0
    np.save(tmp_path / "mask.npy", mask)
    out = tmp_path / "q.h5"
    code, stdout, err = xpcs(
        capsys, "qmap", "--geometry", str(geom), "--mask", str(tmp_path / "mask.npy"),
        "--dyn-q", "4", "--dyn-phi", "2", "--sta-q", "8", "--sta-phi", "4", "--q-scale", "log",
        "--phi-offset", "30", "--phi-fold", "2", "--q-min", "0.0005", "--with-maps",
        "--backend", "jax", "-o", str(out))
    assert code == 0, err
    with h5py.File(out, "r") as f:
        g = f["/qmap"]
        assert np.all(g["static_roi_map"][:10] == 0)
        assert g["mask"][()].sum() == 38 * 64
        assert g["maps/q"].dtype == np.float64 and g["maps/phi"].shape == (48, 64)
        q = g["static_v_list_dim0"][()]
        np.testing.assert_allclose(q[1:] / q[:-1], q[1] / q[0])  # log spaced
        assert q[0] > 0.0005
        assert json.loads(g.attrs["partition"])["static"]["phi_fold"] == 2
        assert g.attrs["backend"] == "jax"


def test_from_result(tmp_path, capsys):
    from xpcs_core.io.synthetic import SyntheticSpec, write_synthetic

    src = tmp_path / "result.hdf"
    write_synthetic(src, spec=SyntheticSpec.for_shape((64, 80), n_frames=200))
    out = tmp_path / "q.h5"
    code, stdout, err = xpcs(capsys, "qmap", "--from", str(src), "--dyn-q", "5", "--sta-q", "10",
                             "--backend", "numpy", "--json", "-o", str(out))
    assert code == 0, err
    from xpcs_core import open_result

    with open_result(src) as res, h5py.File(out, "r") as f:
        assert f["/qmap/energy"][()] == res.energy
        np.testing.assert_array_equal(f["/qmap/mask"][()] != 0, res.qmap.mask)


@pytest.mark.parametrize("change,args,match", [
    ({"distance_m": 0}, (), "distance_m"),
    ({"beam_center_x": 1e5}, (), "beam_center_x"),
    ({}, ("--dyn-q", "4", "--sta-q", "5000"), "usable pixels"),
    ({}, ("--mask", "MASK"), "does not match the detector"),
    ({}, ("--q-min", "5", "--q-max", "6"), "no unmasked pixel"),
    ({}, ("--dyn-q", "0"), "--dyn-q"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, change, args, match):
    geom = tmp_path / "g.json"
    geom.write_text(json.dumps({**GEOM, **change}))
    np.save(tmp_path / "mask.npy", np.ones((10, 10)))
    args = tuple(str(tmp_path / "mask.npy") if a == "MASK" else a for a in args)
    code, _, err = xpcs(capsys, "qmap", "--geometry", str(geom), "--backend", "numpy", *args,
                        "-o", str(tmp_path / "q.h5"))
    assert code == 2
    assert match in err
    assert not (tmp_path / "q.h5").exists()
    if "--dyn-q" not in args or "0" not in args:
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_geometry_xor_from(tmp_path, geom, capsys):
    code, _, err = xpcs(capsys, "qmap", "-o", str(tmp_path / "q.h5"))
    assert code == 2 and "exactly one of --geometry" in err
    code, _, err = xpcs(capsys, "qmap", "--geometry", str(geom), "--from", str(geom),
                        "-o", str(tmp_path / "q.h5"))
    assert code == 2


def test_subprocess_exit_code(tmp_path):
    geom = tmp_path / "g.json"
    geom.write_text(json.dumps({**GEOM, "pixel_size_m": -1}))
    proc = run_xpcs("qmap", "--geometry", str(geom), "-o", str(tmp_path / "q.h5"))
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("xpcs: error:") and "pixel_size_m" in proc.stderr
