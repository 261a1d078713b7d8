"""Hostile HDF5 inputs and leniency (docs/reliability.md): each gives exit 2 with one line,
no hang and no torn read; a partition that does not nest opens with one warning."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest

import xpcs_core
from tests.io_helpers import build_nexus, edit
from xpcs_core.cli.main import main
from xpcs_core.errors import XpcsFormatError, XpcsFormatWarning, XpcsInputError
from xpcs_core.io import _h5util

G2 = "/xpcs/multitau/normalized_g2"
QM = "/xpcs/qmap"


def _replace(path: Path, key: str, make) -> None:
    with h5py.File(path, "a") as f:
        del f[key]
        make(f, key)


def _vds_missing_source(path: Path) -> None:
    build_nexus(path)
    with h5py.File(path, "r") as f:
        shape, dtype = f[G2].shape, f[G2].dtype
    layout = h5py.VirtualLayout(shape=shape, dtype=dtype)
    layout[:] = h5py.VirtualSource("gone.h5", "g2", shape=shape)
    _replace(path, G2, lambda f, k: f.create_virtual_dataset(k, layout, fillvalue=0))


def _external_fifo(path: Path) -> None:
    build_nexus(path)
    os.mkfifo(path.parent / "pipe.h5")
    _replace(path, G2, lambda f, k: f.__setitem__(k, h5py.ExternalLink("pipe.h5", "/g2")))


def _external_folder(path: Path) -> None:
    build_nexus(path)
    (path.parent / "folder.h5").mkdir()
    _replace(path, G2, lambda f, k: f.__setitem__(k, h5py.ExternalLink("folder.h5", "/g2")))


def _absurd_delays(path: Path) -> None:
    build_nexus(path)
    _replace(path, "/xpcs/multitau/delay_list",
             lambda f, k: f.create_dataset(k, shape=(200_000_000,), dtype="i8", chunks=(1 << 20,)))


def _absurd_g2(path: Path) -> None:
    build_nexus(path)
    _replace(path, G2, lambda f, k: f.create_dataset(k, shape=(100_000_000, 3), dtype="f4",
                                                     chunks=(1 << 18, 3)))


HOSTILE = {
    "vds_missing_source": (_vds_missing_source, G2, "virtual dataset whose source file gone.h5 is missing"),
    "external_link_to_fifo": (_external_fifo, G2, "external link to pipe.h5, not a regular file"),
    "external_link_to_folder": (_external_folder, G2, "external link to folder.h5, not a regular file"),
    "absurd_declared_delays": (_absurd_delays, "/xpcs/multitau/delay_list", "but the file holds"),
    "absurd_declared_g2": (_absurd_g2, G2, "but the file holds"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_file_is_exit_2_one_line_no_hang(tmp_path, capsys, case):
    make, key, says = HOSTILE[case]
    path = tmp_path / f"{case}.h5"
    make(path)
    start = time.monotonic()
    with pytest.raises(XpcsFormatError, match=says) as info:
        xpcs_core.open_result(path).g2
    assert info.value.key == key
    with pytest.raises(SystemExit) as exc:
        main(["info", str(path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err and "Traceback" not in err
    assert time.monotonic() - start < 30


FT = "/entry/instrument/detector_1/frame_time"


@pytest.mark.parametrize("unit, factor", [("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("ns", 1e-9)])
def test_time_units_in_attributes_are_converted(tmp_path, unit, factor):
    path = tmp_path / "t.h5"
    build_nexus(path)
    with h5py.File(path, "a") as f:
        value = float(f[FT][()])
        f[FT].attrs["units"] = unit
    with xpcs_core.open_result(path) as res:
        assert res.frame_time == pytest.approx(value * factor)
        assert res.tau[0] == pytest.approx(res.delay_list[0] * value * factor * res.stride_frame * res.avg_frame)


def test_unknown_time_unit_is_refused(tmp_path, capsys):
    path = tmp_path / "t.h5"
    build_nexus(path)
    with h5py.File(path, "a") as f:
        f[FT].attrs["units"] = "fortnights"
    with pytest.raises(SystemExit) as exc:
        main(["info", str(path)])
    assert exc.value.code == 2
    assert "unknown time unit 'fortnights'" in capsys.readouterr().err


def test_a_fifo_given_as_the_input_is_refused(tmp_path):
    pipe = tmp_path / "in.h5"
    os.mkfifo(pipe)
    with pytest.raises(XpcsFormatError, match="not a regular file"):
        xpcs_core.open_result(pipe)


def test_virtual_dataset_with_its_source_reads(tmp_path):
    path = tmp_path / "vds.h5"
    build_nexus(path)
    with h5py.File(path, "r") as f:
        want = f[G2][()]
    with h5py.File(tmp_path / "src.h5", "w") as f:
        f["g2"] = want
    layout = h5py.VirtualLayout(shape=want.shape, dtype=want.dtype)
    layout[:] = h5py.VirtualSource("src.h5", "g2", shape=want.shape)
    _replace(path, G2, lambda f, k: f.create_virtual_dataset(k, layout, fillvalue=0))
    np.testing.assert_array_equal(xpcs_core.open_result(path).g2, want)


HOLD = textwrap.dedent("""
    import sys, time
    import h5py
    with h5py.File(sys.argv[1], "a") as f:   # a writer: HDF5 holds its file lock
        print("open", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def test_a_file_being_written_is_not_called_corrupt(tmp_path, monkeypatch):
    path = tmp_path / "busy.h5"
    build_nexus(path)
    monkeypatch.setattr(_h5util, "READ_WAIT_S", 0.5)
    writer = subprocess.Popen([sys.executable, "-c", HOLD, str(path), "5"], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "open"
        with pytest.raises(XpcsFormatError, match="being written by another process"):
            xpcs_core.open_result(path)
    finally:
        writer.kill()
        writer.wait()


def test_reader_waits_for_a_short_write(tmp_path, monkeypatch):
    path = tmp_path / "busy.h5"
    build_nexus(path)
    monkeypatch.setattr(_h5util, "READ_WAIT_S", 20.0)
    writer = subprocess.Popen([sys.executable, "-c", HOLD, str(path), "1"], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "open"
    with xpcs_core.open_result(path) as res:  # waits for the lock, then reads a whole file
        assert res.g2.shape[0] > 0
    writer.wait()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads whatever the permissions say")
def test_unsearchable_folder_is_exit_2(tmp_path, capsys):
    folder = tmp_path / "locked"
    folder.mkdir()
    build_nexus(folder / "r.h5")
    folder.chmod(0)
    try:
        with pytest.raises(SystemExit) as exc:
            main(["info", str(folder / "r.h5")])
        assert exc.value.code == 2
    finally:
        folder.chmod(0o755)


def _not_nested(path: Path) -> None:
    build_nexus(path)
    with h5py.File(path, "r") as f:
        dyn = f[f"{QM}/dynamic_roi_map"][()]
        sta = f[f"{QM}/static_roi_map"][()]
    r, c = np.argwhere(sta == 1)[0]
    dyn[r, c] = 3  # one pixel of static bin 1 now in another dynamic bin
    edit(path, f"{QM}/dynamic_roi_map", dyn)


def test_partition_off_by_one_pixel_opens_with_one_warning_and_fits(tmp_path):
    path = tmp_path / "not_nested.h5"
    _not_nested(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = xpcs_core.open_result(path)
        assert res.g2.shape[1] == res.qmap.dynamic.n_labels
    nesting = [w for w in caught if issubclass(w.category, XpcsFormatWarning)]
    assert len(nesting) == 1 and "static bin(s) 1 do not lie inside exactly one" in str(nesting[0].message)
    fit = xpcs_core.fit_g2(res, model="single", backend="numpy")
    assert fit.n_bins == res.g2.shape[1]
    with pytest.raises(XpcsInputError, match=r"static bin\(s\) 1 do not lie inside .*needs a nested"):
        xpcs_core.read_qmap(path)  # recomputing from pixels needs the nesting: refused
