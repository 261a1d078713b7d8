"""QmapGroup and its stored partitions: validation and HDF5 round trip in both locations."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from xpcs_core.errors import XpcsFormatError, XpcsFormatWarning, XpcsInputError
from xpcs_core.io.qmap_group import QmapGroup, read_qmap_group, stored_binning, write_qmap_group


def _compress(natural: np.ndarray, mask: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    present = np.unique(natural[mask])
    lut = np.zeros(n, dtype=np.int64)
    lut[present] = np.arange(1, present.size + 1)
    labels = np.zeros(natural.shape, dtype=np.int64)
    labels[mask] = lut[natural[mask]]
    return labels, present


def make_qmap(h: int = 40, w: int = 50) -> QmapGroup:
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot(yy - 12, xx - 20)
    phi = np.degrees(-np.arctan2(yy - 12, xx - 20))
    mask = (r > 2) & (r < 30)
    s_q = np.clip(((r - 2) / 28 * 12).astype(int), 0, 11)
    s_p = np.clip(((phi + 180) / 360 * 4).astype(int), 0, 3)
    d_q, d_p = s_q // 3, s_p // 2
    s_lab, s_im = _compress(s_q * 4 + s_p, mask, 48)
    d_lab, d_im = _compress(d_q * 2 + d_p, mask, 8)
    static = stored_binning(s_lab, (12, 4), [np.linspace(0.002, 0.03, 12), [-135.0, -45.0, 45.0, 135.0]], s_im)
    dynamic = stored_binning(d_lab, (4, 2), [np.linspace(0.003, 0.028, 4), [-90.0, 90.0]], d_im)
    return QmapGroup(
        beam_center_x=20.0,
        beam_center_y=12.0,
        pixel_size=75e-6,
        detector_distance=5.0,
        energy=10.0,
        mask=mask,
        dynamic=dynamic,
        static=static,
        maps={"q": r * 1e-3},
    )


def test_partition_helpers():
    q = make_qmap()
    d = q.dynamic
    assert d.n_labels == d.index_mapping.size == 8
    centres = d.label_centres()
    i0, i1 = np.divmod(d.index_mapping, 2)
    np.testing.assert_array_equal(centres[:, 0], d.centres[0][i0])
    np.testing.assert_array_equal(centres[:, 1], d.centres[1][i1])
    assert d.counts.sum() == q.mask.sum()
    np.testing.assert_array_equal(np.flatnonzero(d.counts) + 1, np.arange(1, 9))
    s2d = q.static_to_dynamic()
    # every static label's pixels carry the dynamic label given by the mapping
    for s in range(1, q.static.n_labels + 1):
        assert set(np.unique(d.labels[q.static.labels == s])) <= {s2d[s - 1]}


@pytest.mark.parametrize("location", ["/xpcs/qmap", "/qmap"])
def test_round_trip(tmp_path, location):
    q = make_qmap()
    path = tmp_path / "q.h5"
    with h5py.File(path, "w") as f:
        write_qmap_group(f.require_group(location), q)
    with h5py.File(path, "r") as f:
        g = f[location]
        assert g["dynamic_roi_map"].compression == "lzf"
        assert g["map_names"].dtype.kind == "S"
        assert g.attrs["hash"].decode() == q.hash
        back = read_qmap_group(g, path)
    for prefix in ("dynamic", "static"):
        a, b = getattr(q, prefix), getattr(back, prefix)
        np.testing.assert_array_equal(a.labels, b.labels)
        np.testing.assert_array_equal(a.index_mapping, b.index_mapping)
        assert a.bins == b.bins and a.maps == b.maps and a.units == b.units
        np.testing.assert_array_equal(a.counts, b.counts)
        for u, v in zip(a.centres, b.centres, strict=True):
            np.testing.assert_array_equal(u, v)
    np.testing.assert_array_equal(back.mask, q.mask)
    assert (back.beam_center_x, back.beam_center_y, back.energy) == (20.0, 12.0, 10.0)
    assert back.hash == q.hash == back.compute_hash()
    np.testing.assert_allclose(back.maps["q"], q.maps["q"], rtol=1e-6)


def _rewrite(path, location, key, value):
    with h5py.File(path, "r+") as f:
        del f[location][key]
        f[location][key] = value


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("dynamic_roi_map", lambda q: np.where(q.dynamic.labels == 1, 99, q.dynamic.labels), "beyond"),
        ("static_roi_map", lambda q: q.static.labels[:-1], "does not match"),
        ("dynamic_index_mapping", lambda q: np.array([0, 1, 2]), "beyond"),
        ("dynamic_index_mapping", lambda q: np.arange(8) + 5, "0..7"),
        ("static_v_list_dim0", lambda q: np.arange(3.0), "num_pts"),
        ("energy", lambda q: -1.0, "positive"),
        ("mask", lambda q: np.array([b"a", b"b"]), "dtype"),
        ("static_roi_map", lambda q: q.static.labels + 0.5, "integers"),
    ],
)
def test_invalid_groups_raise_format_error(tmp_path, key, value, message):
    q = make_qmap()
    path = tmp_path / "q.h5"
    with h5py.File(path, "w") as f:
        write_qmap_group(f.require_group("qmap"), q)
    _rewrite(path, "qmap", key, value(q))
    with h5py.File(path, "r") as f, pytest.raises(XpcsFormatError, match=message) as info:
        read_qmap_group(f["qmap"], path)
    assert info.value.key is not None and info.value.key.startswith("/qmap")
    assert str(path) in str(info.value)


def test_static_not_nested_in_one_dynamic_bin():
    q = make_qmap()
    dyn = q.dynamic.labels.copy()
    # split static label 1 between two dynamic bins
    pixels = np.argwhere(q.static.labels == 1)
    dyn[tuple(pixels[0])] = 1 + (dyn[tuple(pixels[0])] % q.dynamic.n_labels)
    q.dynamic.labels = dyn
    with pytest.warns(XpcsFormatWarning, match=r"static bin\(s\) 1 do not lie inside exactly one"):
        q.validate()  # lenient: viewing and fitting do not need nesting
    with pytest.raises(XpcsInputError, match=r"static bin\(s\) 1 do not lie inside exactly one"):
        q.static_to_dynamic()  # what recomputes from pixels refuses
