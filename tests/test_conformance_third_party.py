"""The conformance suite run the way a third-party author runs it, on the toy backend."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import XPCS_ENV


def test_suite_on_toy_backend_xfails_what_it_lacks(third_party_site, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in XPCS_ENV}
    env["PYTHONPATH"] = str(third_party_site)
    env["XPCS_TEST_BACKEND"] = "toy"
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rxs", "-p", "no:cacheprovider",
         "--pyargs", "xpcs_core.testing"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    out = res.stdout
    assert res.returncode == 0, out[-3000:]
    # hooks the toy lacks are expected failures, never passes
    assert "XFAIL" in out and "backend 'toy' does not implement xpcs_sample_posterior" in out
    assert " passed" in out and " failed" not in out


def test_suite_rejects_unknown_backend(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in XPCS_ENV}
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--pyargs", "xpcs_core.testing", "--xpcs-backend", "nonesuch", "-k", "info"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert res.returncode == 4  # pytest's usage error: one message, not an error per test
    out = res.stdout + res.stderr
    assert out.count("backend 'nonesuch' (from --xpcs-backend) is not installed") == 1
    assert " error" not in res.stdout.lower()


def test_suite_names_the_backend_under_test(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in XPCS_ENV}
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--pyargs", "xpcs_core.testing",
         "-k", "info", "--co"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert "backend under test: numpy (from default; choose with --xpcs-backend NAME)" in res.stdout


def test_declining_hookimpl_is_xfail_not_failure():
    import pytest as _pytest

    from xpcs_core import plugins
    from xpcs_core.backend_info import BackendInfo
    from xpcs_core.hookspecs import hookimpl
    from xpcs_core.testing.support import BackendUnderTest

    class Declines:
        @hookimpl
        def xpcs_backend_info(self):
            return BackendInfo(name="decliner", version="1")

        @hookimpl
        def xpcs_compute_qmap(self, geometry):
            return None

    plugins.register_backend("decliner", Declines())
    with _pytest.raises(_pytest.xfail.Exception, match="declined xpcs_compute_qmap"):
        BackendUnderTest("decliner").call("xpcs_compute_qmap", geometry=None)
    with _pytest.raises(_pytest.xfail.Exception, match="does not implement xpcs_twotime"):
        BackendUnderTest("decliner").call("xpcs_twotime", frames=None)
