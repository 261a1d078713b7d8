"""Posterior summaries and convergence diagnostics (computed with ArviZ).

docs/physics.md: a bin's posterior is *converged* when, for every parameter, R-hat < 1.01,
bulk and tail ESS > 400, there are no divergent transitions, and (NUTS) BFMI > 0.2 in
every chain. ArviZ is imported on first use only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

RHAT_MAX = 1.01
ESS_MIN = 400.0
BFMI_MIN = 0.2
HDI_PROB = 0.94


def _az() -> Any:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # arviz 0.x announces its 1.0 migration on import
        import arviz as az
    return az


def _dataset(draws: dict[str, np.ndarray]) -> Any:
    az = _az()
    return az.convert_to_dataset({k: np.asarray(v) for k, v in draws.items()},
                                 dims={k: ["bin"] for k in draws})


def summarize(draws: dict[str, np.ndarray], hdi_prob: float = HDI_PROB) -> dict[str, dict[str, np.ndarray]]:
    """Per parameter: ``mean``, ``sd``, ``hdi_low``, ``hdi_high`` (each (n_bins,))."""
    az = _az()
    ds = _dataset(draws)
    hdi = az.hdi(ds, hdi_prob=hdi_prob)
    out = {}
    for name, arr in draws.items():
        h = np.asarray(hdi[name].values)  # (bin, 2)
        out[name] = {"mean": arr.mean(axis=(0, 1)), "sd": arr.std(axis=(0, 1), ddof=1),
                     "hdi_low": h[..., 0], "hdi_high": h[..., 1]}
    return out


def hdi(draws: np.ndarray, prob: float) -> np.ndarray:
    """HDI of (chain, draw, bin) draws: (n_bins, 2)."""
    az = _az()
    return np.asarray(az.hdi(_dataset({"x": draws}), hdi_prob=prob)["x"].values)


def bfmi(energy: np.ndarray) -> np.ndarray:
    """E-BFMI per chain and bin from energies (chain, draw, bin): (n_bins, chains)."""
    az = _az()
    return np.stack([np.asarray(az.bfmi(energy[:, :, b])) for b in range(energy.shape[2])])


def diagnose(draws: dict[str, np.ndarray], sample_stats: dict[str, np.ndarray]) -> dict[str, Any]:
    """R-hat, bulk/tail ESS per parameter and bin; divergences, min BFMI, ``converged``."""
    az = _az()
    ds = _dataset(draws)
    n_chains = next(iter(draws.values())).shape[0]
    n_bins = next(iter(draws.values())).shape[2]
    rhat = az.rhat(ds)
    ess_bulk = az.ess(ds, method="bulk")
    ess_tail = az.ess(ds, method="tail")
    out: dict[str, Any] = {
        "r_hat": {k: np.asarray(rhat[k].values) for k in draws},
        "ess_bulk": {k: np.asarray(ess_bulk[k].values) for k in draws},
        "ess_tail": {k: np.asarray(ess_tail[k].values) for k in draws},
    }
    div = sample_stats.get("diverging")
    out["divergences"] = (np.asarray(div).sum(axis=(0, 1)).astype(np.int64)
                          if div is not None else np.zeros(n_bins, dtype=np.int64))
    energy = sample_stats.get("energy")
    out["bfmi"] = bfmi(np.asarray(energy)).min(axis=1) if energy is not None else np.full(n_bins, np.nan)
    ok = np.ones(n_bins, dtype=bool)
    for k in draws:
        r = out["r_hat"][k]
        # one chain: R-hat is undefined (NaN) and cannot show convergence
        ok &= np.isfinite(r) & (r < RHAT_MAX) if n_chains > 1 else np.zeros(n_bins, dtype=bool)
        ok &= out["ess_bulk"][k] > ESS_MIN
        ok &= out["ess_tail"][k] > ESS_MIN
        ok &= np.all(np.isfinite(draws[k]), axis=(0, 1))
    ok &= out["divergences"] == 0
    if energy is not None:
        ok &= np.isfinite(out["bfmi"]) & (out["bfmi"] > BFMI_MIN)
    out["converged"] = ok
    return out
