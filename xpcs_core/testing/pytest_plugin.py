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


def _chosen(config: pytest.Config) -> tuple[str, str]:
    """The backend under test and where the choice came from."""
    option = config.getoption("--xpcs-backend", default=None)
    if option:
        return option.strip().lower(), "--xpcs-backend"
    env = os.environ.get("XPCS_TEST_BACKEND", "").strip()
    if env:
        return env.lower(), "XPCS_TEST_BACKEND"
    return REFERENCE, "default; choose with --xpcs-backend NAME"


def backend_under_test(config: pytest.Config) -> str:
    return _chosen(config)[0]


def pytest_report_header(config: pytest.Config) -> str:
    name, source = _chosen(config)
    return f"xpcs conformance suite: backend under test: {name} (from {source})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Stop once, with a usage error, when the suite is collected for a backend that
    is not installed or failed to load (instead of an error per test)."""
    if not any("xpcs_backend" in getattr(item, "fixturenames", ()) for item in items):
        return
    from xpcs_core.plugins import registry

    name, source = _chosen(config)
    plugins = registry().plugins
    if name not in plugins:
        raise pytest.UsageError(
            f"xpcs conformance suite: backend {name!r} (from {source}) is not installed; "
            f"installed: {', '.join(sorted(plugins)) or 'none'}"
        )
    if plugins[name].error:
        raise pytest.UsageError(
            f"xpcs conformance suite: backend {name!r} failed to load: {plugins[name].error}"
        )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "xpcs_exec_mode" in metafunc.fixturenames:
        name = backend_under_test(metafunc.config)
        modes = ["jit", "eager"] if name in EAGER_CONTEXTS else ["default"]
        metafunc.parametrize("xpcs_exec_mode", modes, indirect=True)


@pytest.fixture(scope="session")
def xpcs_backend(request: pytest.FixtureRequest) -> Any:
    """The backend under test; the suite is skipped when it cannot run here.

    Its ``call`` turns a hookimpl that declines (returns ``None``) into an xfail.
    """
    from xpcs_core.errors import BackendUnavailable
    from xpcs_core.plugins import registry
    from xpcs_core.testing.support import BackendUnderTest

    name = backend_under_test(request.config)
    plugin = registry().plugins[name]
    if not plugin.available:
        pytest.skip(f"backend {name!r} is unavailable here: {plugin.reason}")
    try:
        registry().ensure_loaded(name)
    except BackendUnavailable as exc:
        pytest.skip(str(exc))
    return BackendUnderTest(name)


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
