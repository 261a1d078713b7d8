"""Raw frame sources (docs/file-format.md, "Raw frames"): HDF5 stacks, Eiger master files
with external links and bitshuffle/LZ4, .npy stacks, arrays; frame selection; typed errors."""

from __future__ import annotations

import h5py
import hdf5plugin
import numpy as np
import pytest

from xpcs_core.errors import XpcsFormatError, XpcsInputError
from xpcs_core.io.raw import FrameSelection, average_groups, iter_selected, open_raw

N, H, W = 50, 6, 7


@pytest.fixture(scope="module")
def stack() -> np.ndarray:
    return np.random.default_rng(0).poisson(3.0, size=(N, H, W)).astype(np.uint16)


def _h5(path, data, key="entry/data/data", frame_time=2e-3, **kw):
    with h5py.File(path, "w") as f:
        f.create_dataset(key, data=data, chunks=(1, H, W), **kw)
        if frame_time is not None:
            f["entry/instrument/detector/frame_time"] = frame_time
            f["entry/instrument/detector/count_time"] = frame_time / 2
    return path


def _eiger(tmp_path, data, per_file=17, dtypes=None):
    master = tmp_path / "scan_master.h5"
    with h5py.File(master, "w") as f:
        f["entry/instrument/detector/frame_time"] = 1e-3
        for k, lo in enumerate(range(0, len(data), per_file)):
            name = f"scan_data_{k + 1:06d}.h5"
            part = data[lo : lo + per_file]
            if dtypes is not None:
                part = part.astype(dtypes[k])
            with h5py.File(tmp_path / name, "w") as g:
                g.create_dataset("entry/data/data", data=part, chunks=(1, H, W), **hdf5plugin.Bitshuffle(cname="lz4"))
            f[f"entry/data/data_{k + 1:06d}"] = h5py.ExternalLink(name, "/entry/data/data")
    return master


def test_hdf5_stack_reads_chunks_and_metadata(tmp_path, stack):
    with open_raw(_h5(tmp_path / "a.h5", stack)) as src:
        assert (src.n_frames, src.shape, src.dtype) == (N, (H, W), np.uint16)
        assert src.frame_time == 2e-3 and src.metadata["count_time"] == 1e-3
        np.testing.assert_array_equal(src.read(3, 20, 4), stack[3:20:4])
        assert src._file.mode == "r"  # opened read-only


def test_eiger_master_external_links_bitshuffle_lz4(tmp_path, stack):
    master = _eiger(tmp_path, stack)
    with h5py.File(tmp_path / "scan_data_000001.h5") as f:  # really bitshuffle-compressed
        assert "32008" in f["entry/data/data"]._filters
    with open_raw(master) as src:
        assert src.n_frames == N and src.frame_time == 1e-3
        np.testing.assert_array_equal(src.read(0, N), stack)
        np.testing.assert_array_equal(src.read(5, 49, 3), stack[5:49:3])  # across file boundaries
        idx = FrameSelection(2, 45, 2).indices(N)
        got = np.concatenate([b for _, b in iter_selected(src, idx, 4)])
        np.testing.assert_array_equal(got, stack[2:45:2])


def test_eiger_missing_data_file_and_dtype_mismatch(tmp_path, stack):
    master = _eiger(tmp_path, stack)
    (tmp_path / "scan_data_000002.h5").unlink()
    with pytest.raises(XpcsFormatError, match="scan_data_000002.h5.*cannot be opened"):
        open_raw(master)
    other = tmp_path / "mixed"
    other.mkdir()
    mixed = _eiger(other, stack, per_file=25, dtypes=[np.uint16, np.float32])
    with pytest.raises(XpcsFormatError, match="different dtypes"):
        open_raw(mixed)


def test_npy_stack_is_memory_mapped(tmp_path, stack):
    path = tmp_path / "frames.npy"
    np.save(path, stack)
    with open_raw(path, frame_time=1e-3) as src:
        assert isinstance(src._parts[0], np.memmap)
        np.testing.assert_array_equal(src.read(10, 30, 5), stack[10:30:5])
    assert open_raw(path).frame_time is None  # no metadata: the caller must give it


def test_other_dataset_and_missing_dataset(tmp_path, stack):
    path = _h5(tmp_path / "b.h5", stack, key="exchange/frames")
    with open_raw(path, dataset="/exchange/frames") as src:
        assert src.n_frames == N
    with pytest.raises(XpcsFormatError, match=r"b\.h5: /entry/data/data: no frames"):
        open_raw(path)


@pytest.mark.parametrize("bad", ["2d", "empty", "complex", "strings"])
def test_bad_stacks_raise_format_errors(tmp_path, bad):
    data = {
        "2d": np.zeros((H, W), np.uint16),
        "empty": np.zeros((0, H, W), np.uint16),
        "complex": np.zeros((3, H, W), np.complex64),
        "strings": np.array([[[b"a"]]]),
    }[bad]
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f["entry/data/data"] = data
    with pytest.raises(XpcsFormatError, match="bad.h5"):
        open_raw(path)


def test_float_stack_is_accepted(tmp_path, stack):
    with open_raw(_h5(tmp_path / "f.h5", stack.astype(np.float32))) as src:
        assert src.dtype == np.float32
        np.testing.assert_array_equal(src.read(0, 5), stack[:5])


def test_missing_and_not_a_file(tmp_path):
    with pytest.raises(XpcsFormatError, match="no such file"):
        open_raw(tmp_path / "nope.h5")
    with pytest.raises(XpcsFormatError, match="directory"):
        open_raw(tmp_path)
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(XpcsFormatError, match="not an HDF5 file"):
        open_raw(tmp_path / "text.h5")
    with pytest.raises(XpcsInputError, match="frame_time"):
        open_raw(np.zeros((4, 2, 2)), frame_time=-1)


def test_frame_selection():
    sel = FrameSelection.parse("10:31", stride=3, avg=2)
    np.testing.assert_array_equal(sel.indices(100), [10, 13, 16, 19, 22, 25])  # 7 selected, 6 kept
    assert FrameSelection.parse(":20").indices(100).size == 20
    assert FrameSelection.parse("90:").indices(100).size == 10
    for bad in ("5", "a:b", "20:10"):
        with pytest.raises(XpcsInputError, match="frames"):
            FrameSelection.parse(bad).indices(100)
    with pytest.raises(XpcsInputError, match="outside the 100 frames"):
        FrameSelection.parse("50:200").indices(100)
    with pytest.raises(XpcsInputError, match="at least 2"):
        FrameSelection.parse("0:3", avg=2).indices(100)
    with pytest.raises(XpcsInputError, match="stride"):
        FrameSelection(stride=0)


def test_average_groups_uses_good_frames_only():
    block = np.arange(12, dtype=np.uint16).reshape(6, 2)
    valid = np.array([True, False, False, False, True, True])
    out, ok = average_groups(block, valid, 2)
    np.testing.assert_array_equal(ok, [True, False, True])
    np.testing.assert_allclose(out, [[0, 1], [0, 0], [9, 10]])
