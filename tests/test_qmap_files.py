"""Q-map files: the /qmap group written standalone and into a result copy, read back."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from xpcs_core import XpcsFormatError, XpcsInputError, open_result
from xpcs_core.geometry import Geometry
from xpcs_core.partition import make_partition
from xpcs_core.io.qmap_file import group_from_partition, read_qmap, write_qmap


@pytest.fixture(scope="module")
def refl_partition():
    g = Geometry(energy_kev=10, distance_m=3, pixel_size_m=75e-6, shape=(48, 64),
                 beam_center_x=30.5, beam_center_y=40.0, kind="reflection",
                 incidence_deg=0.12, orientation_deg=90)
    mask = np.ones(g.shape, bool)
    mask[:, :3] = False
    return make_partition(g, mask, maps=("qr", "qz"), dynamic=(4, 3), static=(16, 6),
                          blemish=np.arange(48 * 64).reshape(48, 64) % 97 != 0, backend="numpy")


def test_standalone_round_trip_with_maps(tmp_path, refl_partition):
    path = write_qmap(tmp_path / "q.h5", refl_partition, with_maps=True)
    with h5py.File(path, "r") as f:
        g = f["/qmap"]
        assert [n.decode() for n in g["map_names"][()]] == ["qr", "qz"]
        assert g["dynamic_num_pts"][()].tolist() == [4, 3]
        assert g["static_roi_map"].shape == (48, 64)
        assert g["static_index_mapping"][()].min() >= 0
        for name in ("q", "phi", "qr", "qz"):
            assert g[f"maps/{name}"].dtype == np.float64
        np.testing.assert_array_equal(g["maps/qz"][()], refl_partition.qmap["qz"])
        assert g.attrs["hash"] and g.attrs["version"]
        assert g["blemish"][()].sum() == refl_partition.blemish.sum()
    back = read_qmap(path)
    assert back.geometry == refl_partition.geometry  # kind, orientation, incidence kept
    for which in ("dynamic", "static"):
        a, b = getattr(back, which), getattr(refl_partition, which)
        np.testing.assert_array_equal(a.labels, b.labels)
        np.testing.assert_array_equal(a.index_mapping, b.index_mapping)
        np.testing.assert_allclose(a.centres[0], b.centres[0])
    np.testing.assert_array_equal(back.mask, refl_partition.mask)
    np.testing.assert_array_equal(back.static_to_dynamic, refl_partition.static_to_dynamic)
    np.testing.assert_array_equal(back.qmap["q"], refl_partition.qmap["q"])


def test_without_maps_no_maps_group(tmp_path, refl_partition):
    path = write_qmap(tmp_path / "q.h5", refl_partition)
    with h5py.File(path, "r") as f:
        assert "maps" not in f["/qmap"]
    assert read_qmap(path).qmap is None


def test_inside_a_result_file(tmp_path):
    """A result written with the partition's q-map group reads back with both readers."""
    from dataclasses import replace

    from xpcs_core.io.synthetic import SyntheticSpec, make_synthetic
    from xpcs_core.io.writer import write_result
    from xpcs_core.io.qmap_file import write_qmap_group_to

    data = make_synthetic(SyntheticSpec.for_shape((64, 80), n_frames=200))
    g = Geometry(energy_kev=data.qmap.energy, distance_m=data.qmap.detector_distance,
                 pixel_size_m=data.qmap.pixel_size, beam_center_x=data.qmap.beam_center_x,
                 beam_center_y=data.qmap.beam_center_y, shape=data.qmap.shape)
    n_dyn = data.qmap.dynamic.n_labels
    part = make_partition(g, dynamic=(n_dyn, 1), static=(5 * n_dyn, 1), backend="numpy")
    assert part.dynamic.n_labels == n_dyn
    path = tmp_path / "result.hdf"
    write_result(path, replace(data, qmap=group_from_partition(part), saxs_1d=None, saxs_1d_segments=None))
    with open_result(path) as res:
        np.testing.assert_array_equal(res.qmap.static.labels, part.static.labels)
        np.testing.assert_array_equal(res.qmap.dynamic.index_mapping, part.dynamic.index_mapping)
        assert res.g2.shape[1] == n_dyn
    back = read_qmap(path)  # finds /xpcs/qmap; geometry from the scalars
    assert back.geometry == g
    # the full group, with geometry attributes and float64 maps, into the open file
    with h5py.File(path, "r+") as f:
        write_qmap_group_to(f["/xpcs/qmap"], part, with_maps=True)
    back = read_qmap(path)
    assert back.geometry == g and back.qmap["q"].dtype == np.float64
    np.testing.assert_array_equal(back.qmap["q"], part.qmap["q"])
    with open_result(path) as res:
        assert res.qmap.static.n_labels == part.static.n_labels


def test_read_errors(tmp_path):
    with pytest.raises(XpcsInputError, match="no such file"):
        read_qmap(tmp_path / "missing.h5")
    (tmp_path / "bad.h5").write_text("nope")
    with pytest.raises(XpcsFormatError, match="bad.h5"):
        read_qmap(tmp_path / "bad.h5")
    with h5py.File(tmp_path / "empty.h5", "w"):
        pass
    with pytest.raises(XpcsFormatError, match="no q-map group"):
        read_qmap(tmp_path / "empty.h5")
