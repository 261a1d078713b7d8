"""Q-map files and the q-map group of result files (docs/file-format.md, "The q-map group").

:func:`write_qmap` / :func:`read_qmap` write and read a standalone q-map file (``/qmap``);
:func:`write_qmap_group_to` writes the group into any open file (``/xpcs/qmap`` of a
result); :func:`result_geometry` gives an open result's detector geometry.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from xpcs_core.errors import XpcsFormatError, XpcsInputError
from xpcs_core.geometry import Geometry
from xpcs_core.io._h5util import open_h5_readonly
from xpcs_core.io.atomic import atomic_h5
from xpcs_core.io.qmap_group import QmapGroup, read_qmap_group, stored_binning, write_qmap_group
from xpcs_core.partition import Binning, Partition
from xpcs_core.qmap import UNITS, QMap

QMAP_GROUP = "/qmap"
RESULT_QMAP_GROUP = "/xpcs/qmap"


def _qmap_group_name(f: Any) -> str:
    for name in (QMAP_GROUP, RESULT_QMAP_GROUP):
        if name in f:
            return name
    raise KeyError(name)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)



def result_geometry(res: Any) -> Geometry:
    """Geometry of an open ``XpcsResult``: its metadata + q-map group (``XpcsResult.geometry``).

    A q-map group written by this package carries the full geometry (kind, incidence,
    orientation, swing) in its ``geometry`` attribute; otherwise transmission is assumed.
    """
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


def _spec_dict(spec: Any) -> dict[str, Any] | None:
    if spec is None:
        return None
    return {"maps": list(spec.maps), "bins": list(spec.bins), "scale": spec.scale,
            "ranges": [list(r) for r in spec.ranges], "phi_offset": spec.phi_offset,
            "phi_fold": spec.phi_fold}


def write_qmap_group_to(group: Any, partition: Partition, *, with_maps: bool = False) -> None:
    """Write ``partition`` into an open HDF5 group (docs/file-format.md's q-map group).

    Use it for ``/qmap`` of a q-map file or ``/xpcs/qmap`` of a result file being
    written. Besides the docs/file-format.md datasets it stores the full geometry and the
    partition settings as JSON attributes ``geometry`` and ``partition`` (so kind,
    incidence, orientation and swing survive a round trip), and with ``with_maps`` the
    float64 maps under ``maps/<name>`` (``q``, ``phi``; ``qr``, ``qz`` for reflection).
    """
    write_qmap_group(group, group_from_partition(partition))
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


def write_qmap(path: str | os.PathLike[str], partition: Partition, *, with_maps: bool = False) -> Path:
    """Write ``partition`` (a :class:`~xpcs_core.partition.Partition`) to a new q-map
    file ``path`` holding the ``/qmap`` group (see :func:`write_qmap_group_to`).

    The write is atomic: ``path`` appears only when complete. For a result file, put
    ``group_from_partition(partition)`` in the result data, or call
    :func:`write_qmap_group_to` on its ``/xpcs/qmap`` group.
    """
    with atomic_h5(path) as f:
        write_qmap_group_to(f.require_group(QMAP_GROUP), partition, with_maps=with_maps)
    return Path(path)


def read_qmap(path: str | os.PathLike[str]) -> Partition:
    """Read the q-map group (``/qmap`` or ``/xpcs/qmap``) of a file as a
    :class:`~xpcs_core.partition.Partition` (geometry from the ``geometry`` attribute
    when present). Raises XpcsInputError / XpcsFormatError naming the file."""
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
    return partition_from_group(qgroup, geometry)


# ------------------------------------------------- Partition <-> the q-map group
def two_dimensional(binning: Binning) -> Binning:
    """``binning`` as the group stores it: with two dimensions (a second of one bin is
    added to a partition of one map), no edges."""
    maps = list(binning.maps)
    units = list(binning.units or [UNITS.get(m, "") for m in binning.maps])
    bins, centres = list(binning.bins), list(binning.centres)
    if len(maps) == 1:  # stored as a second dimension with one bin
        maps.append("phi" if maps[0] != "phi" else "none")
        units.append(UNITS.get(maps[1], ""))
        bins.append(1)
        centres.append(np.array([np.nan]))
    return stored_binning(binning.labels, tuple(bins), centres, binning.index_mapping, tuple(maps), tuple(units))


def group_from_partition(partition: Partition, with_maps: bool = False) -> QmapGroup:
    """A :class:`~xpcs_core.partition.Partition` as the :class:`QmapGroup` a result holds.

    With ``with_maps`` the float64 maps ``q``, ``phi`` (and ``qr``, ``qz`` for
    reflection) are attached as ``maps``.
    """
    g = partition.geometry
    dynamic, static = two_dimensional(partition.dynamic), two_dimensional(partition.static)
    maps = {}
    if with_maps:
        maps = partition.map_arrays(("q", "phi", "qr", "qz") if g.kind == "reflection" else ("q", "phi"))
    return QmapGroup(
        beam_center_x=g.beam_center_x, beam_center_y=g.beam_center_y,
        pixel_size=g.pixel_size_m, detector_distance=g.distance_m, energy=g.energy_kev,
        mask=partition.mask, blemish=partition.blemish, dynamic=dynamic, static=static,
        map_names=dynamic.maps, map_units=dynamic.units, maps=maps,
    )


def partition_from_group(group: QmapGroup, geometry: Geometry | None = None) -> Partition:
    """A q-map group read from a file as a Partition (its partitions as stored: two
    dimensions, no edges); ``geometry`` defaults to transmission with the group's beam
    centre, pixel size, distance, energy and mask shape."""
    if geometry is None:
        geometry = Geometry(
            energy_kev=group.energy, distance_m=group.detector_distance,
            pixel_size_m=group.pixel_size, beam_center_x=group.beam_center_x,
            beam_center_y=group.beam_center_y, shape=group.shape,
        )
    maps = {k: np.asarray(v, dtype=np.float64) for k, v in group.maps.items()}
    return Partition(
        dynamic=group.dynamic, static=group.static,
        mask=np.asarray(group.mask) != 0, geometry=geometry,
        static_to_dynamic=group.static_to_dynamic(),
        qmap=QMap(geometry, maps) if maps else None,
        blemish=None if group.blemish is None else np.asarray(group.blemish) != 0,
    )
