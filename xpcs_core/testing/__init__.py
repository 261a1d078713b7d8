"""The backend conformance suite.

Every backend must pass it. Run it against one backend with::

    pytest --pyargs xpcs_core.testing --xpcs-backend NAME     # or XPCS_TEST_BACKEND=NAME

Each op is compared to the NumPy reference with the tolerances of docs/physics.md. A hook
the backend does not implement turns its tests into expected failures (xfail), never
passes. Fixtures come from :mod:`xpcs_core.testing.pytest_plugin` (registered with
pytest through the ``pytest11`` entry point of xpcs-core).
"""

from __future__ import annotations

from xpcs_core.testing.support import TOLERANCES, assert_close, require_hook

__all__ = ["TOLERANCES", "assert_close", "require_hook"]
