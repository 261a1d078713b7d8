"""pytest plugin of the conformance suite (loaded through the ``pytest11`` entry point).

Options: ``--xpcs-backend NAME`` (or ``XPCS_TEST_BACKEND``; default ``numpy``).
Fixtures: ``xpcs_backend`` (the backend under test), ``xpcs_reference`` (numpy),
``xpcs_exec_mode`` (``"jit"``/``"eager"`` for backends where that differs, else
``"default"``; the eager mode runs the test with compilation disabled).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

REFERENCE = "numpy"


def _eager_jax() -> contextlib.AbstractContextManager[Any]:
    import jax

    return jax.disable_jit()


# backends whose ops run compiled by default, and how to run them eagerly
EAGER_CONTEXTS: dict[str, Callable[[], contextlib.AbstractContextManager[Any]]] = {
    "jax": _eager_jax,
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("xpcs", "xpcs backend conformance suite")
    group.addoption(
        "--xpcs-backend",
        default=None,
        metavar="NAME",
        help="backend to run the xpcs conformance suite against (env XPCS_TEST_BACKEND; default numpy)",
    )


def backend_under_test(config: pytest.Config) -> str:
    name = config.getoption("--xpcs-backend", default=None) or os.environ.get("XPCS_TEST_BACKEND")
    return (name or REFERENCE).strip().lower()


def pytest_report_header(config: pytest.Config) -> str | None:
    if config.getoption("--xpcs-backend", default=None) or os.environ.get("XPCS_TEST_BACKEND"):
        return f"xpcs conformance backend: {backend_under_test(config)}"
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "xpcs_exec_mode" in metafunc.fixturenames:
        name = backend_under_test(metafunc.config)
        modes = ["jit", "eager"] if name in EAGER_CONTEXTS else ["default"]
        metafunc.parametrize("xpcs_exec_mode", modes, indirect=True)


@pytest.fixture(scope="session")
def xpcs_backend(request: pytest.FixtureRequest) -> Any:
    """The backend under test; the suite is skipped when it cannot run here."""
    from xpcs_core.backends import Backend
    from xpcs_core.errors import BackendUnavailable
    from xpcs_core.plugins import registry

    name = backend_under_test(request.config)
    plugins = registry().plugins
    if name not in plugins:
        pytest.fail(f"backend {name!r} is not installed; installed: {', '.join(sorted(plugins))}")
    plugin = plugins[name]
    if plugin.error:
        pytest.fail(f"backend {name!r} failed to load: {plugin.error}")
    if not plugin.available:
        pytest.skip(f"backend {name!r} is unavailable here: {plugin.reason}")
    try:
        registry().ensure_loaded(name)
    except BackendUnavailable as exc:
        pytest.skip(str(exc))
    return Backend(name)


@pytest.fixture(scope="session")
def xpcs_reference() -> Any:
    """The NumPy reference backend."""
    from xpcs_core.backends import Backend

    return Backend(REFERENCE)


@pytest.fixture
def xpcs_exec_mode(request: pytest.FixtureRequest) -> Iterator[str]:
    mode = request.param
    if mode == "eager":
        with EAGER_CONTEXTS[backend_under_test(request.config)]():
            yield mode
    else:
        yield mode
