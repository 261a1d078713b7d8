"""Masks and regions: geometric regions by hand, files of every type, the builder."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from xpcs_core import XpcsFormatError, XpcsInputError
from xpcs_core.masks import (
    MaskBuilder, circle, ellipse, load_mask, phi_sector, polygon, rectangle, ring, threshold,
)

SHAPE = (20, 30)


def test_rectangle_inclusive_pixel_centres():
    r = rectangle(SHAPE, 5, 2, 8, 4)  # columns 5..8, rows 2..4
    assert r.sum() == 4 * 3
    assert r[2, 5] and r[4, 8] and not r[1, 5] and not r[2, 9]
    np.testing.assert_array_equal(rectangle(SHAPE, 8, 4, 5, 2), r)  # corners in any order


def test_circle_and_ellipse():
    c = circle(SHAPE, 10, 10, 2)
    assert c.sum() == 13  # the 13 lattice points within distance 2
    assert c[10, 12] and c[8, 10] and not c[8, 8]
    e = ellipse(SHAPE, 10, 10, 4, 1)
    assert e[10, 14] and e[11, 10] and not e[12, 10] and not e[10, 15]
    e90 = ellipse(SHAPE, 10, 10, 4, 1, angle_deg=90)  # long axis along rows now
    assert e90[14, 10] and not e90[10, 14]


def test_polygon_by_hand():
    # right triangle (0,0)-(6,0)-(0,6): pixel centres with x + y <= 6
    tri = polygon(SHAPE, [(0, 0), (6, 0), (0, 6)])
    rows, cols = np.indices(SHAPE)
    np.testing.assert_array_equal(tri, (cols + rows <= 6))
    # concave L shape
    ell = polygon(SHAPE, [(1, 1), (9, 1), (9, 3), (3, 3), (3, 9), (1, 9)])
    assert ell[2, 8] and ell[8, 2] and not ell[6, 6] and ell[3, 3]
    # a square equals the rectangle
    np.testing.assert_array_equal(polygon(SHAPE, [(2, 3), (7, 3), (7, 8), (2, 8)]),
                                  rectangle(SHAPE, 2, 3, 7, 8))
    assert not polygon(SHAPE, [(-10, -10), (-5, -10), (-5, -5)]).any()
    with pytest.raises(XpcsInputError, match="polygon"):
        polygon(SHAPE, [(0, 0), (1, 1)])


def test_ring_and_sector():
    rows, cols = np.indices(SHAPE)
    radius = np.hypot(rows - 10, cols - 15)
    phi = -np.degrees(np.arctan2(rows - 10, cols - 15))
    band = ring(radius, 3, 5)
    np.testing.assert_array_equal(band, (radius >= 3) & (radius <= 5))
    right = phi_sector(phi, -45, 45)
    assert right[10, 20] and not right[10, 10] and not right[3, 15]
    left = phi_sector(phi, 135, -135)  # wraps through 180
    assert left[10, 10] and not left[10, 20]
    assert phi_sector(phi, 0, 360).all()


def test_threshold():
    img = np.arange(12, dtype=float).reshape(3, 4)
    img[0, 0] = np.nan
    good = threshold(img, low=2, high=9)
    assert good.sum() == 8 and not good[0, 0]
    assert threshold(np.arange(12).reshape(3, 4), high=5).sum() == 6  # integer image
    with pytest.raises(XpcsInputError):
        threshold(img, low=5, high=1)


def test_builder_union_subtraction_and_bad_pixels():
    mb = MaskBuilder(SHAPE)
    assert mb.to_array().all()  # nothing added: every pixel is used
    a, b = rectangle(SHAPE, 0, 0, 9, 9), rectangle(SHAPE, 20, 10, 29, 19)
    mb.add(a).add(b)
    np.testing.assert_array_equal(mb.to_array(), a | b)
    hole = circle(SHAPE, 5, 5, 2)
    mb.subtract(hole)
    np.testing.assert_array_equal(mb.to_array(), (a | b) & ~hole)
    bad = np.ones(SHAPE, bool)
    bad[0, 0] = bad[15, 25] = False
    mb.blemish(bad)
    out = mb.to_array()
    assert not out[0, 0] and not out[15, 25] and out[1, 0]
    assert [s.op for s in mb.steps] == ["add", "add", "subtract", "intersect"]
    mb.undo()
    assert out.sum() == mb.to_array().sum() - 2
    with pytest.raises(XpcsInputError, match="shape"):
        mb.add(np.ones((3, 3), bool))


def test_subtract_first_starts_from_everything():
    mb = MaskBuilder(SHAPE).subtract(rectangle(SHAPE, 0, 0, 29, 9))
    assert mb.to_array().sum() == 10 * 30


@pytest.fixture
def mask_array() -> np.ndarray:
    m = np.ones(SHAPE, dtype=np.uint8)
    m[3:6, 4:9] = 0
    return m


def test_load_npy_tiff_hdf5(tmp_path, mask_array):
    import tifffile

    np.save(tmp_path / "m.npy", mask_array)
    tifffile.imwrite(tmp_path / "m.tif", mask_array)
    with h5py.File(tmp_path / "m.h5", "w") as f:
        f["/data/mask"] = mask_array
        f["/mask"] = mask_array[None]  # (1, H, W) is accepted
    want = mask_array != 0
    for source in ("m.npy", "m.tif", "m.h5:/data/mask", "m.h5"):
        got = load_mask(tmp_path / source if ":" not in source else f"{tmp_path}/{source}", SHAPE)
        np.testing.assert_array_equal(got, want, err_msg=source)
    np.testing.assert_array_equal(load_mask(tmp_path / "m.npy", invert=True), ~want)
    mb = MaskBuilder(SHAPE).load(tmp_path / "m.tif")
    np.testing.assert_array_equal(mb.to_array(), want)


def test_bad_mask_files_name_the_file(tmp_path, mask_array):
    with pytest.raises(XpcsInputError, match="nope.npy: no such mask file"):
        load_mask(tmp_path / "nope.npy")
    np.save(tmp_path / "m.npy", mask_array)
    with pytest.raises(XpcsInputError, match=r"m.npy: mask shape \(20, 30\) does not match"):
        load_mask(tmp_path / "m.npy", (30, 20))
    np.save(tmp_path / "v.npy", np.ones(5))
    with pytest.raises(XpcsInputError, match="v.npy: mask must be 2-D"):
        load_mask(tmp_path / "v.npy")
    (tmp_path / "junk.tif").write_bytes(b"not a tiff at all")
    with pytest.raises(XpcsFormatError, match="junk.tif"):
        load_mask(tmp_path / "junk.tif")
    (tmp_path / "m.txt").write_text("1 0")
    with pytest.raises(XpcsInputError, match="m.txt: unknown mask file type"):
        load_mask(tmp_path / "m.txt")
    with h5py.File(tmp_path / "e.h5", "w") as f:
        f["/other"] = mask_array
    with pytest.raises(XpcsFormatError, match="e.h5.*no mask dataset"):
        load_mask(tmp_path / "e.h5")
    with pytest.raises(XpcsFormatError, match="e.h5.*/missing.*no such dataset"):
        load_mask(f"{tmp_path}/e.h5:/missing")
    (tmp_path / "t.h5").write_bytes(b"\x89HDF\r\n\x1a\n truncated")
    with pytest.raises(XpcsFormatError, match="t.h5"):
        load_mask(tmp_path / "t.h5")
