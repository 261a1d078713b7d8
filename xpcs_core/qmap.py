"""Q-maps on any backend: :func:`compute_qmap` returns NumPy maps plus provenance.

Maps (float64, (H, W)): ``q`` (1/Å, exact 2·k0·sin(2θ/2)), ``phi`` (degrees, in
(−180, 180]), ``qx``, ``qy`` (1/Å) and, for reflection, ``qr``, ``qz`` (1/Å). The pixel
maps ``x`` and ``y`` (offsets from the beam centre in pixels) are available on demand
for partitions.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xpcs_core.backend_info import Provenance
from xpcs_core.errors import XpcsBackendError, XpcsInputError
from xpcs_core.geometry import Geometry

UNITS: dict[str, str] = {
    "q": "1/A", "qr": "1/A", "qz": "1/A", "qx": "1/A", "qy": "1/A",
    "phi": "degree", "x": "pixel", "y": "pixel",
}
"""Unit of each map (the byte strings FORMAT.md writes as ``map_units``)."""

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
    raw, provenance = call("xpcs_compute_qmap", backend=backend, geometry=geometry)
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


# ------------------------------------------------------------------------ files
QMAP_GROUP = "/qmap"
RESULT_QMAP_GROUP = "/xpcs/qmap"


def _qmap_group_name(f: Any) -> str:
    for name in (QMAP_GROUP, RESULT_QMAP_GROUP):
        if name in f:
            return name
    raise KeyError(name)


def geometry_from_result(result: Any) -> Geometry:
    """Geometry of a result file (path or opened ``XpcsResult``): metadata + q-map group.

    A q-map group written by this package carries the full geometry (kind, incidence,
    orientation, swing) in its ``geometry`` attribute; otherwise transmission is assumed.
    """
    from xpcs_core.io.result import XpcsResult, open_result

    res = result if isinstance(result, XpcsResult) else open_result(result)
    try:
        extra: dict[str, Any] = {}
        try:
            group = res.file[_qmap_group_name(res.file)]
            stored = group.attrs.get("geometry")
        except KeyError:
            stored = None
        if stored is not None:
            extra = {k: v for k, v in json.loads(_text(stored)).items()
                     if k in ("kind", "incidence_deg", "orientation_deg", "swing_h_deg", "swing_v_deg")}
        return Geometry(
            energy_kev=res.energy, distance_m=res.detector_distance, pixel_size_m=res.pixel_size,
            beam_center_x=res.beam_center_x, beam_center_y=res.beam_center_y,
            shape=res.detector_shape, source=str(res.path), **extra,
        )
    finally:
        if res is not result:
            res.close()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _spec_dict(spec: Any) -> dict[str, Any] | None:
    if spec is None:
        return None
    return {"maps": list(spec.maps), "bins": list(spec.bins), "scale": spec.scale,
            "ranges": [list(r) for r in spec.ranges], "phi_offset": spec.phi_offset,
            "phi_fold": spec.phi_fold}


def write_qmap_group_to(group: Any, partition: Any, *, with_maps: bool = False) -> None:
    """Write ``partition`` into an open HDF5 group (FORMAT.md's q-map group).

    Use it for ``/qmap`` of a q-map file or ``/xpcs/qmap`` of a result file being
    written. Besides the FORMAT.md datasets it stores the full geometry and the
    partition settings as JSON attributes ``geometry`` and ``partition`` (so kind,
    incidence, orientation and swing survive a round trip), and with ``with_maps`` the
    float64 maps under ``maps/<name>`` (``q``, ``phi``; ``qr``, ``qz`` for reflection).
    """
    from xpcs_core.io.qmap_group import write_qmap_group

    write_qmap_group(group, partition.to_qmap_group(with_maps=False))
    if "maps" in group:
        del group["maps"]
    if with_maps:
        kind = partition.geometry.kind
        maps = partition.map_arrays(("q", "phi", "qr", "qz") if kind == "reflection" else ("q", "phi"))
        sub = group.create_group("maps")
        for name, values in maps.items():
            ds = sub.create_dataset(name, data=np.asarray(values, dtype=np.float64),
                                    compression="lzf", chunks=True)
            ds.attrs["unit"] = np.bytes_(UNITS.get(name, "").encode())
    group.attrs["geometry"] = json.dumps(partition.geometry.to_dict())
    specs = {"dynamic": _spec_dict(partition.spec_dynamic), "static": _spec_dict(partition.spec_static)}
    group.attrs["partition"] = json.dumps(specs)
    if partition.provenance is not None:
        group.attrs["backend"] = partition.provenance.backend


def write_qmap(path: str | os.PathLike[str], partition: Any, *, with_maps: bool = False) -> Path:
    """Write ``partition`` (a :class:`~xpcs_core.partition.Partition`) to a new q-map
    file ``path`` holding the ``/qmap`` group (see :func:`write_qmap_group_to`).

    The write is atomic: ``path`` appears only when complete. For a result file, put
    ``partition.to_qmap_group()`` in the result data, or call
    :func:`write_qmap_group_to` on its ``/xpcs/qmap`` group.
    """
    from xpcs_core.io.atomic import atomic_h5

    with atomic_h5(path) as f:
        write_qmap_group_to(f.require_group(QMAP_GROUP), partition, with_maps=with_maps)
    return Path(path)


def read_qmap(path: str | os.PathLike[str]) -> Any:
    """Read the q-map group (``/qmap`` or ``/xpcs/qmap``) of a file as a
    :class:`~xpcs_core.partition.Partition` (geometry from the ``geometry`` attribute
    when present). Raises XpcsInputError / XpcsFormatError naming the file."""
    from xpcs_core.errors import XpcsFormatError
    from xpcs_core.io._h5util import open_h5_readonly
    from xpcs_core.io.qmap_group import read_qmap_group
    from xpcs_core.partition import Partition

    path = Path(path)
    with open_h5_readonly(path) as f:
        try:
            name = _qmap_group_name(f)
        except KeyError:
            raise XpcsFormatError(path, "no q-map group (/qmap or /xpcs/qmap)") from None
        group = f[name]
        qgroup = read_qmap_group(group, path)
        geometry = None
        stored = group.attrs.get("geometry")
        if stored is not None:
            try:
                geometry = Geometry.from_dict(json.loads(_text(stored)), source=f"{path}:{name}")
            except (ValueError, XpcsInputError) as exc:
                raise XpcsFormatError(path, f"bad geometry attribute: {exc}", name) from None
            if geometry.shape != qgroup.shape:
                raise XpcsFormatError(path, f"geometry shape {geometry.shape} does not match "
                                      f"the mask {qgroup.shape}", name)
    return Partition.from_qmap_group(qgroup, geometry)
