"""Q-maps on any backend: :func:`compute_qmap` returns NumPy maps plus provenance.

Maps (float64, (H, W)): ``q`` (1/Å, exact 2·k0·sin(2θ/2)), ``phi`` (degrees, in
(−180, 180]), ``qx``, ``qy`` (1/Å) and, for reflection, ``qr``, ``qz`` (1/Å). The pixel
maps ``x`` and ``y`` (offsets from the beam centre in pixels) are available on demand
for partitions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xpcs_core.backend_info import Provenance
from xpcs_core.errors import XpcsBackendError, XpcsInputError
from xpcs_core.geometry import Geometry

UNITS: dict[str, str] = {
    "q": "1/A", "qr": "1/A", "qz": "1/A", "qx": "1/A", "qy": "1/A",
    "phi": "degree", "x": "pixel", "y": "pixel",
}
"""Unit of each map (the byte strings docs/file-format.md writes as ``map_units``)."""

QMAP_KEYS: dict[str, tuple[str, ...]] = {
    "transmission": ("q", "phi", "qx", "qy"),
    "reflection": ("q", "phi", "qx", "qy", "qr", "qz"),
}


@dataclass
class QMap(Mapping[str, np.ndarray]):
    """The maps of one geometry, by name, with the provenance of the backend used.

    A read-only mapping: ``qmap["q"]``, ``"qr" in qmap``; also ``qmap.q``, ``qmap.phi``.
    ``x``/``y`` pixel maps are made on first access.
    """

    geometry: Geometry
    maps: dict[str, np.ndarray]
    provenance: Provenance | None = None
    _extra: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __getitem__(self, name: str) -> np.ndarray:
        if name in self.maps:
            return self.maps[name]
        if name in ("x", "y"):
            if name not in self._extra:
                from xpcs_core.kernels.qmap import pixel_maps

                g = self.geometry
                self._extra.update(pixel_maps(np, g.shape, g.beam_center_x, g.beam_center_y))
            return self._extra[name]
        raise KeyError(
            f"no map {name!r} for {self.geometry.kind} geometry; "
            f"available: {', '.join(self.available())}"
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self.maps)

    def __len__(self) -> int:
        return len(self.maps)

    def available(self) -> tuple[str, ...]:
        """Names usable in partitions: the computed maps plus ``x`` and ``y``."""
        return (*self.maps, "x", "y")

    @property
    def q(self) -> np.ndarray:
        return self.maps["q"]

    @property
    def phi(self) -> np.ndarray:
        return self.maps["phi"]

    @property
    def shape(self) -> tuple[int, int]:
        return self.geometry.shape

    def unit(self, name: str) -> str:
        return UNITS.get(name, "")


def compute_qmap(geometry: Geometry, backend: str | None = None) -> QMap:
    """Compute the q-map of ``geometry`` on the selected backend (NumPy arrays out)."""
    from xpcs_core.backends import call, get_backend

    if not isinstance(geometry, Geometry):
        raise XpcsInputError(f"compute_qmap expects a Geometry, got {type(geometry).__name__}")
    raw, provenance = call("xpcs_compute_qmap", backend=backend, geometry=geometry,
                           workload=float(geometry.shape[0]) * geometry.shape[1])
    converter = get_backend(provenance.backend)
    expected = QMAP_KEYS[geometry.kind]
    missing = [k for k in expected if k not in raw]
    if missing:
        raise XpcsBackendError(
            f"backend {provenance.backend!r} returned no {', '.join(missing)} map(s)"
        )
    maps: dict[str, np.ndarray] = {}
    for key in expected:
        arr = np.asarray(converter.to_numpy(raw[key]), dtype=np.float64)
        if arr.shape != geometry.shape:
            raise XpcsBackendError(
                f"backend {provenance.backend!r} returned map {key!r} of shape {arr.shape}, "
                f"expected {geometry.shape}"
            )
        maps[key] = arr
    return QMap(geometry=geometry, maps=maps, provenance=provenance)
