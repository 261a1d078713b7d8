"""g2 least squares on CuPy: the shared vectorised Levenberg-Marquardt of
:mod:`xpcs_core.kernels.lsq` on the GPU, every bin at once.

The kernel is written against the Array API; ``array_api_compat`` gives cupy's standard
namespace (``astype``, ``matrix_transpose``...). :func:`fit_lsq` takes the namespace, so
CPU-only tests run the same code with ``array_api_compat.numpy``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl

from xpcs_cupy.runtime import cupy_module, on_gpu

__all__ = ["xpcs_fit_lsq"]


def fit_lsq(xp: Any, problem: Any, to_device: Any, to_numpy: Any = np.asarray) -> Any:
    """The :class:`~xpcs_core.fitting.problem.LsqSolution` of ``problem`` computed in ``xp``."""
    from xpcs_core.kernels.lsq import solve_lm  # the fitting layer: only when a fit runs

    return solve_lm(xp, problem, to_device=to_device, to_numpy=to_numpy)


@hookimpl
@on_gpu
def xpcs_fit_lsq(problem: Any) -> Any:
    cp = cupy_module()
    import array_api_compat.cupy as xp

    return fit_lsq(xp, problem, to_device=cp.asarray, to_numpy=cp.asnumpy)
