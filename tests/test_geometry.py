"""Geometry: construction, validation naming the field, JSON and result-file sources."""

from __future__ import annotations

import json
import math

import pytest

from xpcs_core import XpcsFormatError, XpcsInputError
from xpcs_core.geometry import Geometry

GOOD = dict(energy_kev=10.0, distance_m=5.0, pixel_size_m=75e-6, beam_center_x=100.5,
            beam_center_y=50.25, shape=(128, 256))


def test_wavelength_and_k0():
    g = Geometry(**GOOD)
    assert g.wavelength_a == pytest.approx(1.2398419843, rel=1e-12)
    assert g.k0 == pytest.approx(2 * math.pi / 1.2398419843, rel=1e-12)
    assert g.kind == "transmission" and g.orientation_deg == 0 and not g.has_swing


@pytest.mark.parametrize("field,value", [
    ("distance_m", 0.0), ("distance_m", -1.0), ("energy_kev", 0.0), ("energy_kev", -8.0),
    ("pixel_size_m", 0.0), ("pixel_size_m", float("nan")), ("energy_kev", "ten"),
])
def test_non_positive_values_name_the_field(field, value):
    with pytest.raises(XpcsInputError, match=field):
        Geometry(**{**GOOD, field: value})


@pytest.mark.parametrize("field,value", [
    ("beam_center_x", -10 * 256 - 1), ("beam_center_x", 11 * 256 + 1),
    ("beam_center_y", 1e6), ("beam_center_y", -1281),
])
def test_beam_centre_far_outside(field, value):
    with pytest.raises(XpcsInputError, match=f"{field}.*outside"):
        Geometry(**{**GOOD, field: value})


def test_beam_centre_moderately_outside_is_fine():
    g = Geometry(**{**GOOD, "beam_center_x": -500.0, "beam_center_y": 900.0})
    assert g.beam_center_x == -500.0


@pytest.mark.parametrize("field,value,match", [
    ("shape", (0, 10), "shape"), ("shape", (10,), "shape"), ("shape", (2.5, 3), "shape"),
    ("kind", "saxs", "kind"), ("orientation_deg", 45, "orientation_deg"),
    ("swing_h_deg", 90.0, "swing_h_deg"),
])
def test_bad_fields(field, value, match):
    with pytest.raises(XpcsInputError, match=match):
        Geometry(**{**GOOD, field: value})


def test_reflection_needs_positive_incidence():
    with pytest.raises(XpcsInputError, match="incidence_deg"):
        Geometry(**GOOD, kind="reflection", incidence_deg=0.0)
    g = Geometry(**GOOD, kind="reflection", incidence_deg=0.2, orientation_deg=-90)
    assert g.orientation_deg == 270


def test_json_round_trip(tmp_path):
    g = Geometry(**GOOD, kind="reflection", incidence_deg=0.3, orientation_deg=180)
    path = tmp_path / "geom.json"
    g.to_json(path)
    data = json.loads(path.read_text())
    assert data["shape"] == [128, 256] and data["beam_center_x"] == 100.5
    assert Geometry.from_json(path) == g


def test_json_errors_name_the_file(tmp_path):
    path = tmp_path / "g.json"
    with pytest.raises(XpcsInputError, match="no such geometry file"):
        Geometry.from_json(path)
    path.write_text("{not json")
    with pytest.raises(XpcsFormatError, match="g.json.*not valid JSON"):
        Geometry.from_json(path)
    path.write_text(json.dumps({**GOOD, "shape": [128, 256], "distance_m": 0}))
    with pytest.raises(XpcsInputError, match="g.json.*distance_m"):
        Geometry.from_json(path)
    path.write_text(json.dumps({"energy_kev": 10}))
    with pytest.raises(XpcsInputError, match="missing key.*distance_m"):
        Geometry.from_json(path)
    path.write_text(json.dumps({**GOOD, "shape": [128, 256], "energy": 10}))
    with pytest.raises(XpcsInputError, match="unknown key.*energy"):
        Geometry.from_json(path)


def test_from_result_file(tmp_path):
    from xpcs_core.io.synthetic import SyntheticSpec, write_synthetic

    path = tmp_path / "result.hdf"
    write_synthetic(path, spec=SyntheticSpec.for_shape((64, 80), n_frames=200))
    from xpcs_core import open_result

    with open_result(path) as res:
        g = res.geometry
        assert g.shape == res.detector_shape == (64, 80)
        assert g.energy_kev == res.energy and g.distance_m == res.detector_distance
        assert g.beam_center_x == res.beam_center_x and g.beam_center_y == res.beam_center_y
        assert g.pixel_size_m == res.pixel_size
    assert g.kind == "transmission"
