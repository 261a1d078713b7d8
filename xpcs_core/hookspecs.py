"""The backend contract: pluggy hook specifications (project name ``"xpcs"``).

A backend is a module registered through the entry-point group ``xpcs_core.backends``
that provides some of these hooks, marked with :data:`hookimpl`. Exactly one backend
answers each call (the core calls only that backend's implementation), so every op
hook is ``firstresult``. A backend that lacks a hook simply does not define it; the core
then falls back along the priority order (or raises when the backend was requested
explicitly). A hookimpl may also return ``None`` to decline a call it cannot handle
(for instance an unsupported geometry kind): that counts as "not implemented".

Conventions for every op hook
-----------------------------
* Inputs arrive as NumPy arrays (or Python scalars / small dataclasses of the core);
  the backend moves them to its device itself.
* Outputs may be arrays of the backend's own namespace (numpy, jax.numpy, cupy); the
  core converts them with ``xpcs_to_numpy`` before a user sees them.
* Floating point is float64 unless a hook says otherwise.
* Units: q in 1/Å, angles in degrees, times in seconds, lengths in metres, energy keV.
* Bad arguments raise :class:`xpcs_core.errors.XpcsInputError`; a library failure may
  raise anything, the core reports it with the backend's name.

Hook families (the ``capabilities`` a backend reports are the families it implements):
``info``, ``arrays``, ``qmap``, ``partition``, ``binning``, ``lsq``, ``posterior``,
``multitau``, ``twotime``. See :data:`HOOK_FAMILIES`. For a family F, the shared kernel (where
there is one) is ``xpcs_core/kernels/F.py``, each plugin's hookimpls are in its module ``F.py``
and the conformance tests in ``xpcs_core/testing/test_F.py`` (docs/architecture.md, "One-hop map").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # imported for type hints only, never at run time
    import numpy as np

    from xpcs_core.backend_info import BackendInfo
    from xpcs_core.fitting import FitProblem, LsqSolution, PosteriorDraws, SamplerSettings
    from xpcs_core.geometry import Geometry
    from xpcs_core.kernels.binning import BinnedMean
    from xpcs_core.kernels.partition import Assignment
    from xpcs_core.partition import PartitionSpec
    from xpcs_core.kernels.multitau import MultitauAccumulator, MultitauOptions

PROJECT = "xpcs"
ENTRY_POINT_GROUP = "xpcs_core.backends"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --------------------------------------------------------------------------- info
@hookspec(firstresult=True)
def xpcs_backend_info() -> BackendInfo:
    """Describe this backend. Required of every backend.

    Must be cheap: it must NOT import the heavy library (probe with
    ``importlib.util.find_spec`` and ``importlib.metadata.version``). Returns a
    :class:`xpcs_core.backend_info.BackendInfo` with ``name`` (unique, lower case),
    ``version`` of the plugin, ``priority`` (higher is preferred), ``available`` and,
    when not available, ``reason`` (one line, with the install command where that is
    the cure), ``devices`` as far as known without importing (``"cpu"``, ``"cuda:0"``),
    and ``library_versions`` ({distribution: version}).
    """


@hookspec(firstresult=True)
def xpcs_backend_load() -> list[str]:
    """Import and configure the heavy library; called once, on first use.

    Returns the devices actually usable (``["cpu"]``, ``["cuda:0", "cuda:1"]``...).
    Raises :class:`xpcs_core.errors.BackendUnavailable` with a one-line reason when the
    library is installed but cannot run (no driver, failed self-test, GPU requested
    with ``XPCS_GPU_FALLBACK=false`` but absent). Optional: without it the backend is
    assumed usable as ``xpcs_backend_info`` says.
    """


# ------------------------------------------------------------------------- arrays
@hookspec(firstresult=True)
def xpcs_array_namespace() -> Any:
    """Return the backend's Array-API namespace (``numpy``, ``jax.numpy``, ``cupy``).

    Kernels written once against this namespace (``xp``) serve every backend.
    """


@hookspec(firstresult=True)
def xpcs_to_device(array: Any, dtype: Any | None) -> Any:
    """Convert a NumPy array (or array-like) to an array of this backend on its device.

    ``dtype`` is a NumPy dtype or ``None`` to keep the input's.
    """


@hookspec(firstresult=True)
def xpcs_to_numpy(array: Any) -> np.ndarray:
    """Convert an array of this backend (on any of its devices) to a NumPy array."""


# --------------------------------------------------------------------------- qmap
@hookspec(firstresult=True)
def xpcs_compute_qmap(geometry: Geometry) -> dict[str, Any]:
    """Compute the per-pixel reciprocal-space maps of a detector.

    ``geometry`` is an :class:`xpcs_core.geometry.Geometry` (``kind`` is
    ``"transmission"`` or ``"reflection"``; shape (H, W); beam centre in pixels,
    ``beam_center_x`` = column, ``beam_center_y`` = row; swing, incidence and
    orientation in degrees). Returns float64 (H, W) arrays keyed ``"q"`` (1/Å, exact
    2·k0·sin(2θ/2)), ``"phi"`` (degrees, in (−180, 180]), ``"qx"``, ``"qy"``, and for
    reflection also ``"qr"``, ``"qz"``. docs/physics.md gives the formulas;
    :mod:`xpcs_core.kernels.qmap` implements them for any array namespace
    (``kernels.qmap.compute(xp, geometry)``). Return ``None`` for a kind you do not
    support.
    """


# ---------------------------------------------------------------------- partition
@hookspec(firstresult=True)
def xpcs_partition(maps: dict[str, np.ndarray], mask: np.ndarray, spec: PartitionSpec) -> Assignment:
    """Assign each pixel to a bin of a one- or two-map partition.

    ``maps`` holds float64 (H, W) maps by name (those of ``xpcs_compute_qmap`` plus
    ``"x"``/``"y"``); ``mask`` is a bool (H, W) array, True = good pixel; ``spec`` is an
    :class:`xpcs_core.partition.PartitionSpec`: ``maps`` (names, dim0 first), ``bins``,
    ``scale`` (``"linear"``/``"log"``, dim0), ``ranges`` ((lo, hi) per map, None =
    data min/max over the valid pixels), ``phi_offset``, ``phi_fold``, and ``edges``
    (explicit edges per map, or None).
    Returns an :class:`xpcs_core.kernels.partition.Assignment`: ``natural_index``,
    int64 (H, W), the 0-based natural bin index i0·n1 + i1 of each pixel, −1 for
    masked, non-finite or out-of-range pixels, and ``edges``, a list of float64 edge
    arrays (n+1 each), one per map.
    The core compresses natural indices to labels 1..K. Must agree with the NumPy
    reference bit for bit: compute edges on the host with
    :func:`xpcs_core.kernels.partition.bin_edges` from the exact min/max and digitize
    rounded values as :func:`xpcs_core.kernels.partition.assign` does;
    :func:`xpcs_core.kernels.partition.run_partition` does all of it for any namespace.
    """


# ------------------------------------------------------------------------ binning
@hookspec(firstresult=True)
def xpcs_binned_mean(data: Any, labels: np.ndarray, n_labels: int) -> BinnedMean:
    """Mean of ``data`` over the pixels of each label.

    ``data``: (..., H, W) or (..., N) real array (an image or a stack of frames, any
    float or integer dtype, NumPy or the backend's own); ``labels``: int32/int64 NumPy
    array of the trailing shape of ``data``, 0 = not used, else 1..n_labels (checked by
    the core). Returns a :class:`xpcs_core.kernels.binning.BinnedMean`: ``means``
    (..., n_labels) float64, summed in float64 (NaN for an empty label), ``counts``
    (n_labels,) int64 pixel counts. :func:`xpcs_core.kernels.binning.binned_mean` does it
    for NumPy + ``scipy.sparse`` or CuPy + ``cupyx.scipy.sparse`` (any namespace ``xp``
    with a scipy-like ``sparse`` module offering ``csc_matrix``).
    Label 0 never contributes.
    """


# --------------------------------------------------------------------------- lsq
@hookspec(firstresult=True)
def xpcs_fit_lsq(problem: FitProblem) -> LsqSolution:
    """Weighted, bounded nonlinear least squares of one g2 model, all q-bins at once.

    ``problem`` is an :class:`xpcs_core.fitting.FitProblem` (NumPy, float64, NaN-free):
    the model (``problem.model``, from the model registry: ``fn(xp, t, params)`` written
    against an Array-API namespace, optional analytic ``jac``), ``t`` (n_t,) seconds,
    ``y``, ``sigma``, ``mask`` (n_bins, n_t) (``mask`` False = point not used),
    ``p0``/``lower``/``upper`` (n_bins, n_params) (fixed parameters hold their value in
    ``p0``) and ``free`` (names of the free parameters). Bins are independent: solve
    them together (no Python loop over bins). :mod:`xpcs_core.kernels.lsq` has the
    shared pieces: the bounds' change of variables, residuals, ``finish`` (chi2 and the
    covariance as ``curve_fit(absolute_sigma=True)``) and a vectorised solver.
    Returns an :class:`xpcs_core.fitting.LsqSolution` of NumPy arrays: per-bin
    ``params``, ``errors`` (NaN for fixed parameters), ``cov``, ``chi2``, ``success``,
    ``message``, ``n_iter``. Parameters must agree with the NumPy reference at rtol
    1e-5. A bin that fails is flagged; the others still fit.
    """


# --------------------------------------------------------------------- posterior
@hookspec(firstresult=True)
def xpcs_sample_posterior(problem: FitProblem, start: LsqSolution | None,
                          settings: SamplerSettings) -> PosteriorDraws:
    """Draw posterior samples of the g2 model parameters for all q-bins.

    ``problem`` as for ``xpcs_fit_lsq``; ``start`` its least-squares solution (chains
    start there; :mod:`xpcs_core.kernels.posterior` gives the starting values inside the
    priors' support and the sample-site layout); ``settings`` an
    :class:`xpcs_core.fitting.SamplerSettings` (chains, warm-up, draws -- ``None`` means
    the sampler's default --, seed, ``progress(done, total)`` callback, ``cancel``
    event: raise :class:`xpcs_core.errors.XpcsCancelled` when it is set). Priors and
    likelihood are those of docs/physics.md (``problem.model.priors``). The same seed must
    give the same draws. Returns an :class:`xpcs_core.fitting.PosteriorDraws`: draws
    (chain, draw, bin) per free parameter (plus ``noise`` without g2 errors) and
    sampler statistics (``diverging``, ``energy`` for HMC) of the same shape.
    """


# ----------------------------------------------------------------------- multitau
@hookspec(firstresult=True)
def xpcs_multitau_accumulator(n_pixels: int, n_frames: int,
                              options: MultitauOptions) -> MultitauAccumulator:
    """A streaming multi-tau accumulator for ``n_pixels`` pixels and up to ``n_frames`` frames.

    The core feeds it ``(n_chunk, n_pixels)`` blocks of frames in time order
    (``update(frames, valid)``) and calls ``finish()`` once, which returns a
    :class:`xpcs_core.kernels.multitau.MultitauSums` (NumPy float64 per-pixel G2, IP,
    IF per lag, with the lag list and the valid-pair counts). Lags, levels, pair
    averaging and bad frames follow docs/physics.md ("Multi-tau correlation"). Memory
    must not grow with the number of frames; the result must not depend on how the
    frames were cut into blocks. ``options`` is a
    :class:`xpcs_core.kernels.multitau.MultitauOptions` (dense, sparse or auto path).
    """


# ------------------------------------------------------------------------ twotime
@hookspec(firstresult=True)
def xpcs_twotime(frames: Any) -> Any:
    """Two-time correlation of the pixels of one bin.

    ``frames``: (n_frames, n_pix) float array (already normalised per pixel if wanted).
    Returns C2 (n_frames, n_frames) float64,
    C2(t1, t2) = ⟨I(t1)I(t2)⟩_p / (⟨I(t1)⟩_p⟨I(t2)⟩_p).
    """


# ---------------------------------------------------------------------- families
HOOK_FAMILIES: dict[str, tuple[str, ...]] = {
    "info": ("xpcs_backend_info", "xpcs_backend_load"),
    "arrays": ("xpcs_array_namespace", "xpcs_to_device", "xpcs_to_numpy"),
    "qmap": ("xpcs_compute_qmap",),
    "partition": ("xpcs_partition",),
    "binning": ("xpcs_binned_mean",),
    "lsq": ("xpcs_fit_lsq",),
    "posterior": ("xpcs_sample_posterior",),
    "multitau": ("xpcs_multitau_accumulator",),
    "twotime": ("xpcs_twotime",),
}
"""Hook names by family; a backend's capabilities are the families it implements."""

OP_HOOKS: tuple[str, ...] = tuple(
    h for fam, hooks in HOOK_FAMILIES.items() if fam != "info" for h in hooks
)
