"""jax's persistent compilation cache: a second process reuses what the first compiled
(docs/architecture.md, "Automatic choice"); ``XPCS_CACHE_DIR=none`` turns it off."""

from __future__ import annotations

import os
import subprocess
import sys

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
