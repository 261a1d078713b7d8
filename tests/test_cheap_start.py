"""``import xpcs_core``, ``xpcs --help`` and ``xpcs backends`` import no heavy library."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ["jax", "jaxlib", "numpyro", "cupy", "PySide6", "pyqtgraph", "arviz", "emcee"]

SCRIPTS = {
    "import": "import xpcs_core",
    "api-names": "import xpcs_core; xpcs_core.list_backends; xpcs_core.get_backend",
    "help": (
        "import sys\n"
        "from xpcs_core.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
    ),
    "backends": (
        "from xpcs_core.cli.main import main\n"
        "try:\n    main(['backends', '--json'])\nexcept SystemExit:\n    pass\n"
    ),
}


@pytest.mark.parametrize("what", sorted(SCRIPTS))
def test_no_heavy_imports(what):
    code = SCRIPTS[what] + f"\nimport sys, json\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout.strip().splitlines()[-1]) == []


def test_every_command_is_listed_without_heavy_imports():
    """``xpcs --help`` loads every subcommand module: none may import heavy libraries."""
    from xpcs_core.cli.main import COMMANDS

    code = (
        "import importlib, sys, json\n"
        f"for target in {sorted(COMMANDS.values())!r}:\n"
        "    mod, attr = target.split(':')\n"
        "    getattr(importlib.import_module(mod), attr)\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout.strip().splitlines()[-1]) == []


def test_loading_every_plugin_imports_no_library_and_no_fitting_layer():
    """Auto mode loads every plugin's modules to compare costs: they must stay light."""
    code = (
        "import sys, json\n"
        "from xpcs_core.plugins import registry\n"
        "names = [p for p in ('numpy', 'jax', 'cupy') if registry().get(p) is not None]\n"
        f"print(json.dumps([names, [m for m in {HEAVY + ['xpcs_core.fitting', 'numba', 'scipy.optimize']!r} "
        "if m in sys.modules]]))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    names, loaded = json.loads(res.stdout.strip().splitlines()[-1])
    assert names == ["numpy", "jax", "cupy"] and loaded == []
