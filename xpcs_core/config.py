"""Strict parsing of the XPCS_* environment variables."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from xpcs_core.errors import XpcsInputError

_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")
_AUTO = ("auto",)


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def tristate(name: str, default: str = "auto") -> str:
    """Read ``true``/``false``/``auto`` (also 1/0, yes/no, on/off); anything else raises."""
    value = _raw(name)
    if value is None:
        return default
    low = value.lower()
    if low in _TRUE:
        return "true"
    if low in _FALSE:
        return "false"
    if low in _AUTO:
        return "auto"
    raise XpcsInputError(
        f"{name}={value!r} is not understood; accepted values: true, false, auto "
        "(also 1/0, yes/no, on/off)"
    )


def flag(name: str, default: bool) -> bool:
    """Read a boolean variable strictly (``auto`` is not accepted)."""
    value = _raw(name)
    if value is None:
        return default
    low = value.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise XpcsInputError(
        f"{name}={value!r} is not understood; accepted values: true, false (also 1/0, yes/no, on/off)"
    )


def fraction(name: str) -> float | None:
    """Read a number in (0, 1], or None when unset."""
    value = _raw(name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not 0.0 < number <= 1.0:
        raise XpcsInputError(f"{name}={value!r} must be a number in (0, 1], e.g. 0.5")
    return number


def backend_name() -> str | None:
    """``XPCS_BACKEND``: a backend name, or None."""
    value = _raw("XPCS_BACKEND")
    return value.lower() if value else None


_NAME = re.compile(r"^[a-z][a-z0-9_.-]*$")


def cache_dir() -> Path | None:
    """``XPCS_CACHE_DIR``: the folder of calibrated costs and the JAX compile cache
    (default: the user cache folder); ``none`` turns both off."""
    value = _raw("XPCS_CACHE_DIR")
    if value is not None and value.lower() == "none":
        return None
    if value is not None:
        return Path(value).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("xpcs"))


def _names(name: str) -> list[str]:
    """A strictly parsed comma-separated list of backend names."""
    value = _raw(name)
    names = [] if value is None else [part.strip().lower() for part in value.split(",")]
    if any(not _NAME.match(n) for n in names):
        raise XpcsInputError(
            f"{name}={value!r} is not understood; expected backend names separated by commas, e.g. cupy,jax"
        )
    return names


def backend_priority() -> list[str]:
    """``XPCS_BACKEND_PRIORITY=a,b,c``: backend names, most preferred first (strictly parsed)."""
    names = _names("XPCS_BACKEND_PRIORITY")
    if len(set(names)) != len(names):
        raise XpcsInputError(
            f"XPCS_BACKEND_PRIORITY={_raw('XPCS_BACKEND_PRIORITY')!r} names a backend twice"
        )
    return names


JAX_BACKEND = "jax"
"""The one place the core names a backend: what ``XPCS_USE_JAX`` refers to."""


@dataclass(frozen=True)
class Selection:
    """The environment's say in backend selection, on one mechanism.

    ``required``: a backend every call must use (``XPCS_BACKEND``, or jax for
    ``XPCS_USE_JAX=true``) and ``source``, the setting that asked for it; ``excluded``:
    backends never chosen automatically (jax for ``XPCS_USE_JAX=false``); ``priority``:
    the order of ``XPCS_BACKEND_PRIORITY`` (empty: the plugins' own priorities).
    """

    required: str | None
    source: str | None
    excluded: frozenset[str]
    priority: tuple[str, ...]


def selection() -> Selection:
    """``XPCS_BACKEND``, ``XPCS_USE_JAX`` and ``XPCS_BACKEND_PRIORITY`` as a :class:`Selection`."""
    priority = tuple(backend_priority())
    use = use_jax()
    required, source = backend_name(), "XPCS_BACKEND"
    if required is None and use == "true":
        required, source = JAX_BACKEND, "XPCS_USE_JAX=true"
    excluded = frozenset({JAX_BACKEND}) if use == "false" else frozenset()
    return Selection(required, source if required else None, excluded, priority)


def use_jax() -> str:
    """``XPCS_USE_JAX``: ``"true"``, ``"false"`` or ``"auto"`` (default)."""
    return tristate("XPCS_USE_JAX")


def use_gpu() -> str:
    """``XPCS_USE_GPU``: ``"true"``, ``"false"`` or ``"auto"`` (default)."""
    return tristate("XPCS_USE_GPU")


def gpu_fallback() -> bool:
    """``XPCS_GPU_FALLBACK``: fall back to the CPU when a GPU is asked for but absent (default true)."""
    return flag("XPCS_GPU_FALLBACK", True)


def gpu_memory_fraction() -> float | None:
    """``XPCS_GPU_MEMORY_FRACTION``: share of GPU memory a backend may take."""
    return fraction("XPCS_GPU_MEMORY_FRACTION")


def disabled_plugins() -> list[str]:
    """``XPCS_DISABLE_PLUGINS=a,b``: plugins (entry-point names) not to load."""
    return _names("XPCS_DISABLE_PLUGINS")


def strict_plugins() -> bool:
    """``XPCS_STRICT_PLUGINS``: raise instead of keeping a plugin's load error."""
    return flag("XPCS_STRICT_PLUGINS", False)


def _backend(name: str) -> str | None:
    value = backend_name() if name == "XPCS_BACKEND" else (_raw(name) or "").lower() or None
    if value is not None and not _NAME.match(value):
        raise XpcsInputError(f"{name}={value!r} is not a backend name (letters, digits, '_', '-', '.')")
    return value


VARIABLES: dict[str, object] = {
    "XPCS_BACKEND": lambda: _backend("XPCS_BACKEND"),
    "XPCS_USE_JAX": use_jax,
    "XPCS_BACKEND_PRIORITY": backend_priority,
    "XPCS_USE_GPU": use_gpu,
    "XPCS_GPU_FALLBACK": gpu_fallback,
    "XPCS_GPU_MEMORY_FRACTION": gpu_memory_fraction,
    "XPCS_DISABLE_PLUGINS": lambda: _names("XPCS_DISABLE_PLUGINS"),
    "XPCS_STRICT_PLUGINS": strict_plugins,
    "XPCS_TEST_BACKEND": lambda: _backend("XPCS_TEST_BACKEND"),
    "XPCS_DASK_SCHEDULER": lambda: _raw("XPCS_DASK_SCHEDULER"),
    "XPCS_GUI_SETTINGS": lambda: _raw("XPCS_GUI_SETTINGS"),
    "XPCS_CACHE_DIR": lambda: cache_dir(),
}
"""Every ``XPCS_*`` variable the project reads, with its strict parser."""


def check_environment() -> dict[str, object]:
    """Parse every ``XPCS_*`` variable once (the start of every command).

    A bad value, or an ``XPCS_*`` variable the project does not know (a typo would
    otherwise be ignored silently), is an :class:`XpcsInputError` naming the variable,
    the value and what is accepted.
    """
    unknown = sorted(k for k in os.environ if k.startswith("XPCS_") and k not in VARIABLES)
    if unknown:
        raise XpcsInputError(
            f"unknown environment variable {unknown[0]}={os.environ[unknown[0]]!r}; "
            f"known: {', '.join(VARIABLES)}"
        )
    return {name: parse() for name, parse in VARIABLES.items()}  # type: ignore[operator]
