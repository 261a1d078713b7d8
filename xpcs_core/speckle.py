"""Speckle simulator with a known answer (docs/physics.md, "Ground truth for tests").

Each pixel sees ``modes`` independent speckles; each speckle's complex Gaussian field
follows an AR(1) (Ornstein-Uhlenbeck) process E(t+dt) = ρE(t) + sqrt(1-ρ²)·w with
ρ = exp(-Γ·dt), Γ = D·q². The intensity is the mean of |E|² over the modes times the
mean rate, and the counts are Poisson. Then g1(t) = exp(-Γt), the speckle contrast is
β = 1/modes and g2(t) = 1 + β·exp(-2Γt) exactly (in expectation).
"""

from __future__ import annotations

import numpy as np

from xpcs_core.errors import XpcsInputError


def simulate_frames(
    n_frames: int,
    gamma: np.ndarray | float,
    frame_time: float,
    *,
    n_pix: int | None = None,
    mean_rate: float = 50.0,
    modes: int = 1,
    seed: int | None = 0,
    dtype: np.dtype | type = np.uint32,
) -> np.ndarray:
    """Frames (n_frames, n_pix) of Poisson counts with field decay rate ``gamma`` (1/s) per pixel.

    ``gamma`` is a scalar (then ``n_pix`` is required) or one rate per pixel.
    """
    gamma = np.asarray(gamma, dtype=np.float64)
    if gamma.ndim == 0:
        if n_pix is None:
            raise XpcsInputError("simulate_frames: give n_pix when gamma is a scalar")
        gamma = np.full(n_pix, float(gamma))
    if n_frames < 2 or frame_time <= 0 or modes < 1 or mean_rate <= 0 or np.any(gamma < 0):
        raise XpcsInputError(
            "simulate_frames: need n_frames >= 2, frame_time > 0, modes >= 1, mean_rate > 0, gamma >= 0"
        )
    rng = np.random.default_rng(seed)
    rho = np.exp(-gamma * frame_time)[:, None]
    kick = np.sqrt(1.0 - rho**2)
    shape = (gamma.size, modes)

    def noise() -> np.ndarray:
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2.0)

    field = noise()
    frames = np.empty((n_frames, gamma.size), dtype=dtype)
    for t in range(n_frames):
        intensity = mean_rate * np.mean(np.abs(field) ** 2, axis=1)
        frames[t] = rng.poisson(intensity)
        field = rho * field + kick * noise()
    return frames


def g2_truth(tau: np.ndarray, gamma: float, modes: int = 1) -> np.ndarray:
    """The exact g2 of :func:`simulate_frames`: 1 + exp(-2Γτ)/modes."""
    return 1.0 + np.exp(-2.0 * gamma * np.asarray(tau, dtype=np.float64)) / modes
