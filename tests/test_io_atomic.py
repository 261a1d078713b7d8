"""atomic_h5: output appears only on success; inputs are never touched."""

from __future__ import annotations

import hashlib
import os

import h5py
import numpy as np
import pytest

from xpcs_core.errors import XpcsFormatError, XpcsInputError
from xpcs_core.io.atomic import atomic_h5


def _digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_writes_and_renames(tmp_path):
    out = tmp_path / "out.h5"
    with atomic_h5(out) as f:
        f["x"] = np.arange(3)
        assert not out.exists()
        assert os.path.dirname(f.filename) == str(tmp_path)
    with h5py.File(out, "r") as f:
        assert f["x"][()].tolist() == [0, 1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.h5"]


def test_exception_leaves_nothing_and_keeps_old_file(tmp_path):
    out = tmp_path / "out.h5"
    out.write_bytes(b"previous")
    with pytest.raises(RuntimeError, match="boom"), atomic_h5(out) as f:
        f["x"] = np.arange(3)
        raise RuntimeError("boom")
    assert out.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.h5"]


def test_copy_from_adds_groups_without_touching_input(tmp_path):
    src = tmp_path / "in.h5"
    with h5py.File(src, "w") as f:
        f["a"] = np.arange(5.0)
    before = _digest(src)
    out = tmp_path / "out.h5"
    with atomic_h5(out, copy_from=src) as f:
        f.create_group("xpcs/fit/single")["tau"] = np.ones(3)
    assert _digest(src) == before
    with h5py.File(out, "r") as f:
        assert f["a"][()].tolist() == [0, 1, 2, 3, 4]
        assert "xpcs/fit/single/tau" in f


def test_refuses_to_overwrite_input_unless_allowed(tmp_path):
    src = tmp_path / "in.h5"
    with h5py.File(src, "w") as f:
        f["a"] = 1
    before = _digest(src)
    with pytest.raises(XpcsInputError, match="refusing"), atomic_h5(src, copy_from=src):
        pass
    assert _digest(src) == before
    with atomic_h5(src, copy_from=src, allow_same=True) as f:
        f["b"] = 2
    with h5py.File(src, "r") as f:
        assert set(f) == {"a", "b"}


def test_copy_from_bad_sources(tmp_path):
    with (
        pytest.raises(XpcsFormatError, match="no such file"),
        atomic_h5(tmp_path / "o.h5", copy_from=tmp_path / "missing.h5"),
    ):
        pass
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all")
    with (
        pytest.raises(XpcsFormatError, match="not an HDF5 file"),
        atomic_h5(tmp_path / "o.h5", copy_from=junk),
    ):
        pass
    assert not (tmp_path / "o.h5").exists()


def test_missing_directory(tmp_path):
    with pytest.raises(XpcsInputError, match="does not exist"), atomic_h5(tmp_path / "nope" / "o.h5"):
        pass
