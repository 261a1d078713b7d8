"""``xpcs_core.average`` / ``xpcs average``: outlier rejection and inverse-variance averaging of repeats."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import xpcs_core as xc
from xpcs_core.averaging import read_average_group
from xpcs_core.errors import XpcsError, XpcsInputError
from xpcs_core.io.synthetic import SyntheticSpec, make_synthetic

from .conftest import run_xpcs

SHAPE = (48, 48)


def spec(seed: int, **kw) -> SyntheticSpec:
    base = {"n_frames": 2000, "n_dyn": 6, "seed": seed, "error_scale": 0.002, "n_segments": 0}
    return SyntheticSpec.for_shape(SHAPE, **{**base, **kw})


def write(path, data) -> str:
    xc.write_result(path, data)
    return str(path)


def repeats(tmp_path, n: int, start: int = 0, **kw) -> list[str]:
    return [write(tmp_path / f"rep{seed:03d}.h5", make_synthetic(spec(seed, **kw))) for seed in range(start, start + n)]


def truth(path) -> np.ndarray:
    """The noiseless g2 the synthetic file was drawn from."""
    with xc.open_result(path) as r:
        q, tau = r.dynamic_q, r.tau
    return 1.0 + 0.2 * np.exp(-2.0 * 1e5 * q[None, :] ** 2 * tau[:, None])


def inverse_variance_mean(paths) -> tuple[np.ndarray, np.ndarray]:
    g2s, errs = [], []
    for p in paths:
        with xc.open_result(p) as r:
            g2s.append(r.g2)
            errs.append(r.g2_err)
    w = 1.0 / np.array(errs) ** 2
    return (w * np.array(g2s)).sum(0) / w.sum(0), 1.0 / np.sqrt(w.sum(0))


def test_errors_shrink_as_inverse_sqrt_n_and_match_the_scatter(tmp_path):
    paths = repeats(tmp_path, 16, error_scale=0.02)
    with xc.open_result(paths[0]) as r:
        err1 = r.g2_err
    for n in (1, 4, 16):
        out = tmp_path / f"avg{n}.h5"
        xc.average(paths[:n], out, reject=None)
        with xc.open_result(out) as r:
            np.testing.assert_allclose(r.g2_err, err1 / np.sqrt(n), rtol=1e-6)
            g2, err = r.g2, r.g2_err
    # the propagated error is the real scatter of the 16-file average about the truth
    pulls = (g2 - truth(paths[0])) / err
    assert 0.8 < pulls.std() < 1.2, pulls.std()
    assert abs(pulls.mean()) < 0.2


def test_corrupted_repeat_is_rejected_and_the_rest_averaged(tmp_path):
    good = repeats(tmp_path, 5)
    bad = write(tmp_path / "corrupt.h5", make_synthetic(spec(99, baseline=1.12)))
    out = tmp_path / "avg.h5"
    report = xc.average([*good[:2], bad, *good[2:]], out)
    assert [s.path for s in report.rejected] == [bad]
    assert "baseline" in report.rejected[0].reasons[0]
    expected_g2, expected_err = inverse_variance_mean(good)
    with xc.open_result(out) as r:
        np.testing.assert_allclose(r.g2, expected_g2, rtol=1e-6)
        np.testing.assert_allclose(r.g2_err, expected_err, rtol=1e-6)
    rec = read_average_group(out)
    assert rec["source_files"] == [*good[:2], bad, *good[2:]]
    assert rec["used"] == [True, True, False, True, True, True]
    assert rec["weight"][2] == 0 and sum(rec["weight"]) == pytest.approx(1.0)
    assert rec["reason"][2].startswith("baseline") and rec["reason"][0] == ""
    assert rec["n_used"] == 5 and rec["n_rejected"] == 1


def _scaled_intensity(seed: int, factor) -> object:
    data = make_synthetic(spec(seed))
    data.intensity_vs_time[1] *= factor
    data.saxs_2d = data.saxs_2d * np.mean(factor)
    data.saxs_1d = data.saxs_1d * np.mean(factor)
    return data


def test_contrast_and_intensity_outliers(tmp_path):
    good = repeats(tmp_path, 6)
    low_contrast = write(tmp_path / "contrast.h5", make_synthetic(spec(50, contrast=0.1)))
    bright = write(tmp_path / "bright.h5", _scaled_intensity(51, 1.5))
    ramp = np.where(np.arange(2000) < 1000, 1.0, 0.5)  # half the run at half the beam
    dump = write(tmp_path / "dump.h5", _scaled_intensity(52, ramp / ramp.mean()))
    report = xc.average([*good, low_contrast, bright, dump], reject_only=True)
    reasons = {s.path: " ".join(s.reasons) for s in report.rejected}
    assert set(reasons) == {low_contrast, bright, dump}
    assert reasons[low_contrast].startswith("contrast")
    assert reasons[bright].startswith("mean intensity")
    assert "I(t) stability" in reasons[dump] and "mean intensity" not in reasons[dump]
    only_baseline = xc.average([*good, low_contrast, bright, dump], reject="baseline", reject_only=True)
    assert not only_baseline.rejected
    assert report.data is None


def test_bulk_rules_need_three_files(tmp_path):
    paths = repeats(tmp_path, 2)
    report = xc.average(paths, reject_only=True)
    assert not report.rejected and any("at least 3 files" in n for n in report.notes)


def test_refuses_other_partitions_and_delays_naming_the_files(tmp_path):
    a, b = repeats(tmp_path, 2)
    other_bins = write(tmp_path / "eight_bins.h5", make_synthetic(spec(7, n_dyn=8)))
    with pytest.raises(XpcsInputError, match=r"partitions differ.*rep000\.h5, rep001\.h5.*eight_bins\.h5"):
        xc.average([a, b, other_bins])
    longer = write(tmp_path / "longer.h5", make_synthetic(spec(8, n_frames=4000)))
    with pytest.raises(XpcsInputError, match=r"delays differ.*longer\.h5"):
        xc.average([a, longer])
    with pytest.raises(XpcsInputError, match="given twice"):
        xc.average([a, a])
    with pytest.raises(XpcsInputError, match="output is one of the input"):
        xc.average([a, b], a)


def test_saxs_intensity_and_twotime_are_averaged(tmp_path):
    paths = repeats(tmp_path, 3, twotime=True, twotime_frames=100)
    out = tmp_path / "avg.h5"
    xc.average(paths, out)
    saxs, c2, itime = [], [], []
    with xc.open_result(paths[0]) as r:
        bins = r.twotime_bins
    for p in paths:
        with xc.open_result(p) as r:
            saxs.append(r.saxs_2d)
            itime.append(r.intensity_vs_time[1])
            c2.append(r.c2(int(bins[0])))
    with xc.open_result(out) as r:
        np.testing.assert_allclose(r.saxs_2d, np.mean(saxs, axis=0), rtol=1e-6)
        np.testing.assert_allclose(r.intensity_vs_time[1], np.concatenate(itime))
        np.testing.assert_array_equal(r.intensity_vs_time[0], np.arange(3 * 2000))
        np.testing.assert_array_equal(r.twotime_bins, bins)
        np.testing.assert_allclose(r.c2(int(bins[0])), np.mean(c2, axis=0), rtol=1e-6)
        assert r.multitau_config["averaged_files"] == 3


def test_every_file_rejected_fails(tmp_path):
    paths = repeats(tmp_path, 2, baseline=1.2)
    with pytest.raises(XpcsError, match="all 2 files were rejected"):
        xc.average(paths, tmp_path / "avg.h5")
    assert not (tmp_path / "avg.h5").exists()


def test_memory_does_not_grow_with_the_number_of_files(tmp_path):
    data = make_synthetic(SyntheticSpec.for_shape((128, 128), n_frames=1000, n_dyn=6, n_segments=0))
    paths = []
    for k in range(8):
        data.multitau.g2 = data.multitau.g2 + 1e-4 * k
        paths.append(write(tmp_path / f"big{k}.h5", data))
    peaks = {}
    for n in (2, 8):
        tracemalloc.start()
        xc.average(paths[:n], tmp_path / f"avg{n}.h5", reject=None)
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peaks[8] < 1.25 * peaks[2], peaks
    assert peaks[2] < 40 * 128 * 128 * 8, peaks  # a few detector-sized float64 arrays


def test_cli_average_reject_only_and_exit_codes(tmp_path):
    good = repeats(tmp_path, 4)
    bad = write(tmp_path / "corrupt.h5", make_synthetic(spec(99, baseline=0.9)))
    out = tmp_path / "avg.h5"
    res = run_xpcs("average", *good, bad, "-o", str(out), "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["n_used"] == 4 and doc["files"][-1]["used"] is False and out.exists()
    res = run_xpcs("average", *good, bad, "--reject-only")
    assert res.returncode == 0 and "corrupt.h5" in res.stdout and "baseline" in res.stdout
    other = write(tmp_path / "other.h5", make_synthetic(spec(5, n_dyn=8)))
    res = run_xpcs("average", good[0], other, "-o", str(tmp_path / "x.h5"))
    assert res.returncode == 2 and "other.h5" in res.stderr
    res = run_xpcs("average", bad, "-o", str(tmp_path / "y.h5"))
    assert res.returncode == 1 and "rejected" in res.stderr
    assert run_xpcs("average", *good).returncode == 2  # no -o


def test_average_is_the_function_whatever_was_imported_first(tmp_path):
    paths = repeats(tmp_path, 2)
    code = (
        "import xpcs_core.averaging.engine, xpcs_core as xc, sys\n"
        f"r = xc.average({paths!r}, reject=None)\n"
        "print(len(r.used))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "2"
