"""jax's persistent compilation cache: a second process reuses what the first compiled
(docs/architecture.md, "Automatic choice"); ``XPCS_CACHE_DIR=none`` turns it off."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("jax")


def _fit(path, cache: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "XPCS_CACHE_DIR": cache}
    env.pop("XPCS_BACKEND", None)
    return subprocess.run([sys.executable, "-m", "xpcs_core.cli.main", "fit", str(path), "--backend", "jax"],
                          capture_output=True, text=True, timeout=300, env=env)


def _entries(folder) -> set[str]:
    return {p.name for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def test_second_process_compiles_nothing_new(tmp_path):
    from xpcs_core.io.synthetic import SyntheticSpec, write_synthetic

    first_file, second_file = tmp_path / "a.h5", tmp_path / "b.h5"
    write_synthetic(first_file, spec=SyntheticSpec.for_shape((64, 64), n_frames=200))
    write_synthetic(second_file, spec=SyntheticSpec.for_shape((64, 64), n_frames=200, seed=5))
    cache = tmp_path / "cache"
    out = _fit(first_file, str(cache))
    assert out.returncode == 0, out.stderr
    after_first = _entries(cache / "jax")
    assert after_first, "the first process stored no compiled program"
    out = _fit(second_file, str(cache))  # other data, same shapes: every program is a cache hit
    assert out.returncode == 0, out.stderr
    assert _entries(cache / "jax") == after_first


def test_cache_dir_none_stores_nothing(tmp_path):
    from xpcs_core.io.synthetic import SyntheticSpec, write_synthetic

    path = tmp_path / "a.h5"
    write_synthetic(path, spec=SyntheticSpec.for_shape((64, 64), n_frames=200))
    home = tmp_path / "home"
    env_home = {"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    env = {**os.environ, **env_home, "XPCS_CACHE_DIR": "none"}
    out = subprocess.run([sys.executable, "-m", "xpcs_core.cli.main", "fit", str(path), "--backend", "jax"],
                         capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    assert not _entries(home)


FIT_AND_REPORT = """
import sys, json
import xpcs_core as xc
res = xc.fit_g2(sys.argv[1], backend="jax")
print(json.dumps({"optimistix": "optimistix" in sys.modules, "tau": res.values[:, res.param_names.index("tau")].tolist()}))
"""


def _fit_report(path, cache) -> dict:
    import json

    env = {**os.environ, "XPCS_CACHE_DIR": str(cache)}
    out = subprocess.run([sys.executable, "-c", FIT_AND_REPORT, str(path)], capture_output=True, text=True,
                         timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_second_process_runs_the_stored_trace_without_tracing(tmp_path):
    from xpcs_core.io.synthetic import SyntheticSpec, write_synthetic

    path = tmp_path / "a.h5"
    write_synthetic(path, spec=SyntheticSpec.for_shape((64, 64), n_frames=200))
    cache = tmp_path / "cache"
    first = _fit_report(path, cache)
    (stored,) = (cache / "jax-export").glob("lsq-*.bin")
    second = _fit_report(path, cache)
    assert first["optimistix"] and not second["optimistix"]  # the solver was not traced again
    assert second["tau"] == first["tau"]
    direct = _fit_report(path, "none")  # no cache: the jitted program itself
    np.testing.assert_allclose(second["tau"], direct["tau"], rtol=1e-12)
    stored.write_bytes(b"truncated")  # an unreadable file is replaced
    third = _fit_report(path, cache)
    assert third["tau"] == first["tau"] and stored.stat().st_size > 1000


def test_code_digest_follows_the_source(tmp_path, monkeypatch):
    from xpcs_jax._export import code_digest

    module = tmp_path / "xpcs_probe_mod.py"
    module.write_text("def f(x):\n    return x + 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = code_digest("xpcs_probe_mod")
    module.write_text("def f(x):\n    return x + 2\n")
    assert code_digest("xpcs_probe_mod") != before
