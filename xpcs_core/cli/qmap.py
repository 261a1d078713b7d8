"""``xpcs qmap``: compute a q-map and its static/dynamic partitions, write a q-map file."""

from __future__ import annotations

import json
import time
from typing import Any

import click

from xpcs_core.cli.main import backend_option, json_option

_Bins = click.IntRange(min=1)


@click.command()
@click.option("--geometry", "geometry_path", type=click.Path(dir_okay=False), metavar="GEOM.json",
              help="Geometry JSON (energy_kev, distance_m, pixel_size_m, beam_center_x/y, shape, kind...).")
@click.option("--from", "result_path", type=click.Path(dir_okay=False), metavar="RESULT",
              help="Take the geometry (and, without --mask, the mask) from a result file.")
@click.option("--mask", "mask_path", metavar="FILE",
              help="Good-pixel mask: .tif, .npy or FILE.h5:/dataset (non-zero = good).")
@click.option("--maps", "map_names", default="q,phi", show_default=True, metavar="DIM0,DIM1",
              help="Maps to bin: q,phi  qr,qz  x,y ... (--*-q counts dim0, --*-phi dim1).")
@click.option("--dyn-q", default=36, show_default=True, type=_Bins, help="Dynamic bins along dim0.")
@click.option("--dyn-phi", default=1, show_default=True, type=_Bins, help="Dynamic bins along dim1.")
@click.option("--sta-q", default=360, show_default=True, type=_Bins, help="Static bins along dim0.")
@click.option("--sta-phi", default=1, show_default=True, type=_Bins, help="Static bins along dim1.")
@click.option("--q-scale", type=click.Choice(["linear", "log"]), default="linear", show_default=True)
@click.option("--phi-offset", type=float, default=0.0, show_default=True, metavar="DEG",
              help="Azimuth offset subtracted from phi (wrapped into (-180, 180]).")
@click.option("--phi-fold", type=_Bins, default=1, show_default=True, metavar="F",
              help="Symmetry fold: phi -> (phi + 180) mod (360/F) for F >= 2.")
@click.option("--q-min", type=float, default=None, metavar="Q", help="Lower limit of dim0 (1/A for q).")
@click.option("--q-max", type=float, default=None, metavar="Q", help="Upper limit of dim0.")
@click.option("--with-maps", is_flag=True, help="Also store the float64 maps under /qmap/maps.")
@backend_option
@json_option
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), metavar="OUT.h5",
              help="Q-map file to write (atomically).")
def qmap(geometry_path: str | None, result_path: str | None, mask_path: str | None,
         map_names: str, dyn_q: int, dyn_phi: int, sta_q: int, sta_phi: int, q_scale: str,
         phi_offset: float, phi_fold: int, q_min: float | None, q_max: float | None,
         with_maps: bool, backend: str | None, as_json: bool, output: str) -> None:
    """Compute a detector q-map and its q/phi partitions; write the /qmap group to OUT.h5."""
    from xpcs_core.geometry import Geometry
    from xpcs_core.masks import load_mask
    from xpcs_core.partition import make_partition
    from xpcs_core.io.outputs import check_outputs
    from xpcs_core.io.qmap_file import write_qmap
    from xpcs_core.qmap import compute_qmap

    if (geometry_path is None) == (result_path is None):
        raise click.UsageError("give exactly one of --geometry GEOM.json or --from RESULT")
    check_outputs({"-o": output}, {"--geometry": geometry_path, "--from": result_path, "--mask": mask_path})
    names = tuple(n.strip() for n in map_names.split(",") if n.strip())
    if len(names) != 2:
        raise click.BadParameter(f"expected two names like q,phi, got {map_names!r}", param_hint="--maps")
    mask: Any = None
    blemish: Any = None
    if geometry_path is not None:
        geometry = Geometry.from_json(geometry_path)
    else:
        from xpcs_core.io.result import open_result

        with open_result(result_path) as res:  # type: ignore[arg-type]
            geometry = res.geometry
            if mask_path is None:
                mask = res.qmap.mask
                blemish = res.qmap.blemish
    if mask_path is not None:
        mask = load_mask(mask_path, geometry.shape)

    start = time.perf_counter()
    qm = compute_qmap(geometry, backend=backend)
    t_qmap = time.perf_counter() - start
    part = make_partition(
        qm, mask, maps=names, dynamic=(dyn_q, dyn_phi), static=(sta_q, sta_phi), scale=q_scale,
        phi_offset=phi_offset, phi_fold=phi_fold, q_min=q_min, q_max=q_max, blemish=blemish,
        backend=backend,
    )
    t_part = time.perf_counter() - start - t_qmap
    path = write_qmap(output, part, with_maps=with_maps)
    summary = _summary(part, str(path), t_qmap, t_part)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    g = summary["geometry"]
    click.echo(f"{g['kind']} geometry, {g['shape'][0]} x {g['shape'][1]} pixels, "
               f"E = {g['energy_kev']:g} keV, D = {g['distance_m']:g} m")
    for which in ("dynamic", "static"):
        s = summary[which]
        click.echo(
            f"{which:>8}: {s['bins'][0]} x {s['bins'][1]} {'/'.join(s['maps'])} bins, "
            f"{s['n_labels']} non-empty, {names[0]} {s['range'][0]:.6g} .. {s['range'][1]:.6g}"
        )
    click.echo(f"pixels used: {summary['pixels_used']} of {summary['pixels']}; "
               f"backend {summary['backend']} (q-map {t_qmap * 1e3:.0f} ms, "
               f"partitions {t_part * 1e3:.0f} ms)")
    click.echo(f"wrote {path}")


def _summary(part: Any, path: str, t_qmap: float, t_part: float) -> dict[str, Any]:
    out: dict[str, Any] = {
        "output": path,
        "geometry": part.geometry.to_dict(),
        "backend": part.provenance.backend if part.provenance else None,
        "provenance": part.provenance.as_dict() if part.provenance else None,
        "pixels": int(part.mask.size),
        "pixels_used": int((part.static.labels > 0).sum()),
        "seconds": {"qmap": round(t_qmap, 4), "partition": round(t_part, 4)},
    }
    for which in ("dynamic", "static"):
        b = getattr(part, which)
        out[which] = {
            "maps": list(b.maps), "bins": list(b.bins), "n_labels": b.n_labels,
            "range": [float(b.edges[0][0]), float(b.edges[0][-1])],
            "min_pixels_per_label": int(b.counts.min()) if b.counts.size else 0,
        }
    return out
