"""Helpers for conformance tests: tolerances, comparisons, xfail of missing hooks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from xpcs_core.backends import Backend

# (atol, rtol) per quantity: the table of docs/physics.md, "Tolerances"
TOLERANCES: dict[str, tuple[float, float]] = {
    "qmap_transmission": (1e-7, 1e-6),
    "qmap_reflection": (1e-6, 1e-5),
    "phi_deg": (1e-5, 1e-4),
    "binned_mean": (1e-10, 1e-9),
    "multitau_g2": (1e-9, 1e-7),
    "lsq_params": (0.0, 1e-5),
    "float32": (1e-4, 1e-4),
    "exact": (0.0, 0.0),
}


class BackendUnderTest(Backend):
    """A :class:`~xpcs_core.backends.Backend` whose ``call`` xfails when the hookimpl
    declines the call (returns ``None``, as the hookspecs allow)."""

    def call(self, hook: str, **kwargs: Any) -> Any:
        require_hook(self, hook)
        result = super().call(hook, **kwargs)
        if result is None:
            pytest.xfail(f"backend {self.name!r} declined {hook} (returned None)")
        return result


def require_hook(backend: Any, hook: str) -> None:
    """Mark the running test as an expected failure when ``backend`` lacks ``hook``."""
    if not backend.implements(hook):
        pytest.xfail(f"backend {backend.name!r} does not implement {hook}")


def assert_close(actual: Any, expected: Any, quantity: str, err_msg: str = "") -> None:
    """``assert_allclose`` with the docs/physics.md tolerance of ``quantity``; NaNs must match."""
    atol, rtol = TOLERANCES[quantity]
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape} {err_msg}"
    if quantity == "exact":
        np.testing.assert_array_equal(actual, expected, err_msg=err_msg)
    else:
        np.testing.assert_allclose(actual, expected, atol=atol, rtol=rtol, err_msg=err_msg)
