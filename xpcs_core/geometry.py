"""Detector geometry: transmission (optional detector swing) or grazing-incidence reflection.

Units: energy in keV, distance and pixel size in metres, beam centre in pixels
(``beam_center_x`` = column, ``beam_center_y`` = row), angles in degrees.
λ[Å] = 12.398419843 / E[keV], k0 = 2π/λ (1/Å).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from xpcs_core.errors import XpcsFormatError, XpcsInputError

HC_KEV_A = 12.398419843
"""h·c in keV·Å: λ[Å] = HC_KEV_A / E[keV]."""

KINDS = ("transmission", "reflection")
ORIENTATIONS = (0, 90, 180, 270)
MAX_CENTRE_OFFSET = 10
"""A beam centre more than this many detector widths (heights) outside is rejected."""

_JSON_KEYS = (
    "energy_kev", "distance_m", "pixel_size_m", "beam_center_x", "beam_center_y", "shape",
    "kind", "incidence_deg", "orientation_deg", "swing_h_deg", "swing_v_deg",
)
_REQUIRED = ("energy_kev", "distance_m", "pixel_size_m", "beam_center_x", "beam_center_y", "shape")


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise XpcsInputError(f"{name}: expected a number, got {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise XpcsInputError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(out):
        raise XpcsInputError(f"{name}: must be finite, got {value!r}")
    return out


@dataclass(frozen=True)
class Geometry:
    """Where the detector is and what hits it; validated on construction.

    Raises :class:`XpcsInputError` naming the field for a non-positive distance, energy
    or pixel size, a bad shape, kind or orientation, an incidence angle outside
    (0, 90) degrees, or a beam centre more than 10 detector widths outside the detector.
    """

    energy_kev: float
    distance_m: float
    pixel_size_m: float
    beam_center_x: float
    beam_center_y: float
    shape: tuple[int, int]
    kind: Literal["transmission", "reflection"] = "transmission"
    incidence_deg: float = 0.14
    orientation_deg: int = 0
    swing_h_deg: float = 0.0
    swing_v_deg: float = 0.0
    source: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        where = f"{self.source}: " if self.source else ""

        def fail(message: str) -> XpcsInputError:
            return XpcsInputError(where + message)

        try:
            for name in ("energy_kev", "distance_m", "pixel_size_m", "beam_center_x",
                         "beam_center_y", "incidence_deg", "swing_h_deg", "swing_v_deg"):
                object.__setattr__(self, name, _number(name, getattr(self, name)))
        except XpcsInputError as exc:
            raise fail(str(exc)) from None
        for name in ("energy_kev", "distance_m", "pixel_size_m"):
            if getattr(self, name) <= 0.0:
                raise fail(f"{name}: must be positive, got {getattr(self, name):g}")
        shape = self.shape
        if (
            not isinstance(shape, (tuple, list))
            or len(shape) != 2
            or any(isinstance(n, bool) or not float(n).is_integer() or int(n) < 1 for n in shape)
        ):
            raise fail(f"shape: expected [rows, columns] of positive integers, got {shape!r}")
        object.__setattr__(self, "shape", (int(shape[0]), int(shape[1])))
        if self.kind not in KINDS:
            raise fail(f"kind: must be one of {', '.join(KINDS)}, got {self.kind!r}")
        orientation = _number("orientation_deg", self.orientation_deg)
        if orientation % 360 not in ORIENTATIONS:
            raise fail(f"orientation_deg: must be one of 0, 90, 180, 270, got {self.orientation_deg!r}")
        object.__setattr__(self, "orientation_deg", int(orientation % 360))
        if self.kind == "reflection" and not 0.0 < self.incidence_deg < 90.0:
            raise fail(f"incidence_deg: must lie in (0, 90) degrees, got {self.incidence_deg:g}")
        for name in ("swing_h_deg", "swing_v_deg"):
            if abs(getattr(self, name)) >= 90.0:
                raise fail(f"{name}: must lie in (-90, 90) degrees, got {getattr(self, name):g}")
        rows, cols = self.shape
        for name, value, size in (("beam_center_x", self.beam_center_x, cols),
                                  ("beam_center_y", self.beam_center_y, rows)):
            if value < -MAX_CENTRE_OFFSET * size or value > (MAX_CENTRE_OFFSET + 1) * size:
                raise fail(
                    f"{name}: {value:g} is more than {MAX_CENTRE_OFFSET} detector "
                    f"{'widths' if name == 'beam_center_x' else 'heights'} outside the "
                    f"{rows} x {cols} detector"
                )

    # ----------------------------------------------------------------- derived
    @property
    def wavelength_a(self) -> float:
        """Wavelength in Å."""
        return HC_KEV_A / self.energy_kev

    @property
    def k0(self) -> float:
        """Wave number 2π/λ in 1/Å."""
        return 2.0 * math.pi / self.wavelength_a

    @property
    def has_swing(self) -> bool:
        return self.swing_h_deg != 0.0 or self.swing_v_deg != 0.0

    # ---------------------------------------------------------- constructors
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str | None = None) -> Geometry:
        """Build from a mapping with the JSON keys (see :meth:`from_json`)."""
        where = f"{source}: " if source else ""
        if not isinstance(data, Mapping):
            raise XpcsInputError(f"{where}expected a JSON object of geometry keys")
        unknown = sorted(set(data) - set(_JSON_KEYS))
        if unknown:
            raise XpcsInputError(
                f"{where}unknown key(s) {', '.join(unknown)}; accepted: {', '.join(_JSON_KEYS)}"
            )
        missing = [k for k in _REQUIRED if k not in data]
        if missing:
            raise XpcsInputError(f"{where}missing key(s) {', '.join(missing)}")
        values = {k: data[k] for k in _JSON_KEYS if k in data and data[k] is not None}
        if isinstance(values.get("shape"), list):
            values["shape"] = tuple(values["shape"])
        return cls(**values, source=source)

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> Geometry:
        """Read a JSON file with keys ``energy_kev``, ``distance_m``, ``pixel_size_m``,
        ``beam_center_x`` (column), ``beam_center_y`` (row), ``shape`` [H, W] and
        optionally ``kind``, ``incidence_deg``, ``orientation_deg``, ``swing_h_deg``,
        ``swing_v_deg``."""
        path = Path(path)
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise XpcsInputError(f"{path}: no such geometry file") from None
        except OSError as exc:
            raise XpcsInputError(f"{path}: cannot read: {exc.strerror or exc}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise XpcsFormatError(path, f"not valid JSON ({exc.msg}, line {exc.lineno})") from None
        return cls.from_dict(data, source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """The JSON keys and values (``shape`` as a list)."""
        out = asdict(self)
        out.pop("source")
        out["shape"] = list(self.shape)
        return out

    def to_json(self, path: str | os.PathLike[str]) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")
