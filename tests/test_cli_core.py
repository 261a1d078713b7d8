"""The ``xpcs`` command line: version, help, backends, exit codes."""

from __future__ import annotations

import pytest

import json

from tests.conftest import run_xpcs

BACKEND_KEYS = {"name", "distribution", "version", "available", "reason", "capabilities",
                "devices", "priority", "active", "error"}


def test_version():
    res = run_xpcs("--version")
    assert res.returncode == 0
    assert "0.1.0" in res.stdout


def test_help_lists_commands():
    res = run_xpcs("--help")
    assert res.returncode == 0
    for cmd in ("backends", "demo"):
        assert cmd in res.stdout


def test_backends_json_schema():
    res = run_xpcs("backends", "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert isinstance(rows, list) and rows
    for row in rows:
        assert set(row) == BACKEND_KEYS
        assert isinstance(row["available"], bool) and isinstance(row["active"], bool)
        assert isinstance(row["capabilities"], list) and isinstance(row["devices"], list)
    by_name = {r["name"]: r for r in rows}
    assert by_name["numpy"]["available"] and "arrays" in by_name["numpy"]["capabilities"]
    assert by_name["numpy"]["distribution"] == "xpcs-numpy"
    assert [r["name"] for r in rows if r["active"]] == ["jax"]
    assert by_name["jax"]["devices"][0] == "cpu"


def test_backends_table():
    res = run_xpcs("backends", env={"COLUMNS": "160"})
    assert res.returncode == 0
    for name in ("numpy", "jax", "cupy"):
        assert name in res.stdout
    assert "active backend: jax" in res.stdout


def test_backends_respects_env():
    res = run_xpcs("backends", "--json", env={"XPCS_USE_JAX": "false"})
    active = [r["name"] for r in json.loads(res.stdout) if r["active"]]
    assert active == ["numpy"]


def test_third_party_in_cli(third_party_site):
    res = run_xpcs("backends", "--json", pythonpath=third_party_site, env={"XPCS_BACKEND": "toy"})
    assert res.returncode == 0, res.stderr
    rows = {r["name"]: r for r in json.loads(res.stdout)}
    assert rows["toy"]["active"] and rows["toy"]["available"]
    assert rows["toy"]["distribution"] == "xpcs-toy"
    assert rows["broken"]["available"] is False
    assert "unobtainium" in rows["broken"]["error"]
    plain = run_xpcs("backends", pythonpath=third_party_site, env={"COLUMNS": "160"})
    assert plain.returncode == 0
    assert "broken: load error" in plain.stdout and "unobtainium" in plain.stdout


def test_unknown_command_is_usage_error():
    res = run_xpcs("frobnicate")
    assert res.returncode == 2
    assert "No such command" in res.stderr


def test_unknown_option_is_usage_error():
    assert run_xpcs("backends", "--bogus").returncode == 2


def test_bad_env_value_exit_2_one_line():
    res = run_xpcs("backends", env={"XPCS_USE_JAX": "perhaps"})
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "XPCS_USE_JAX='perhaps'" in lines[0]
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("args", [("--debug", "backends"), ("backends", "--debug")])
def test_debug_shows_traceback(args):
    res = run_xpcs(*args, env={"XPCS_USE_JAX": "perhaps"})
    assert res.returncode != 0
    assert "Traceback" in res.stderr


def test_demo_recovers_diffusion_on_numpy_and_jax(tmp_path):
    import re

    res = run_xpcs("demo", "--out", str(tmp_path), "--no-bayes", "--frames", "2000", timeout=600)
    assert res.returncode == 0, res.stderr
    assert "exactly the injected ones" in res.stdout  # bad frames found by the correlator
    fits = re.findall(r"^\s*(\w+): least squares .* D = ([0-9.e+-]+) ± ([0-9.e+-]+)", res.stdout, re.M)
    assert {name for name, _, _ in fits} == {"numpy", "jax"}
    for _, d, err in fits:  # raw frames -> correlate -> fit recovers the simulated D
        assert abs(float(d) / 1e5 - 1) < 0.05
    for name in ("result.h5", "raw/raw.h5", "raw/qmap.h5", "raw/truth.json"):
        assert (tmp_path / name).is_file()


@pytest.mark.parametrize("command", [("info", "nofile.h5"), ("simulate", "x.h5"), ("backends",)])
@pytest.mark.parametrize("var, value, says", [
    ("XPCS_USE_GPU", "perhaps", "XPCS_USE_GPU='perhaps' is not understood; accepted values: true, false, auto"),
    ("XPCS_GPU_MEMORY_FRACTION", "1.5", "XPCS_GPU_MEMORY_FRACTION='1.5' must be a number in (0, 1]"),
    ("XPCS_GPU_FALLBACK", "2", "XPCS_GPU_FALLBACK='2' is not understood; accepted values: true, false"),
    ("XPCS_DISABLE_PLUGINS", "jax;cupy", "XPCS_DISABLE_PLUGINS='jax;cupy' is not understood"),
    ("XPCS_USEJAX", "true", "unknown environment variable XPCS_USEJAX='true'; known: XPCS_BACKEND"),
])
def test_every_command_parses_every_setting_first(tmp_path, command, var, value, says):
    out = tmp_path / "x.h5"
    res = run_xpcs(*(str(out) if a == "x.h5" else a for a in command), env={var: value})
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("\n") == 1 and says in res.stderr
    assert not out.exists() and "Traceback" not in res.stderr


def test_ctrl_c_exits_130_with_one_line(monkeypatch, capsys):
    """click turns Ctrl-C into Abort; the CLI still reports an interrupt (docs/reliability.md)."""
    from xpcs_core import config
    from xpcs_core.cli.main import main

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(config, "check_environment", interrupted)
    with pytest.raises(SystemExit) as info:
        main(["backends"])
    assert info.value.code == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "xpcs: interrupted; nothing was written"
