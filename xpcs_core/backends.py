"""Backend selection and dispatch.

Selection, first match wins:

1. an explicit ``backend=`` argument (``--backend``, the GUI menu);
2. :func:`set_backend` (session default of the Python API);
3. ``XPCS_BACKEND=<name>``;
4. ``XPCS_USE_JAX=true`` (jax required) / ``false`` (jax never chosen automatically);
5. the priority order: ``XPCS_BACKEND_PRIORITY=a,b,c`` first, then the plugins' own
   priorities (:attr:`BackendInfo.priority`).

The environment's part is read in one place, :func:`xpcs_core.config.selection`; this
module names no backend. Choices 1-3 and ``XPCS_USE_JAX=true`` are *explicit*: an op
that backend lacks raises :class:`OpNotImplemented`. Otherwise the call falls back
along the priority order, logs a warning and records it in the returned
:class:`Provenance`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from xpcs_core import config, costs
from xpcs_core.backend_info import Provenance
from xpcs_core.errors import BackendUnavailable, OpNotImplemented, XpcsBackendError, XpcsInputError
from xpcs_core.plugins import Plugin, hook_family, registry

log = logging.getLogger(__name__)

_session_backend: str | None = None


@dataclass(frozen=True)
class Backend:
    """A handle on one registered backend."""

    name: str

    @property
    def plugin(self) -> Plugin:
        return registry().get(self.name)

    @property
    def info(self):  # -> BackendInfo
        return self.plugin.info

    @property
    def capabilities(self) -> list[str]:
        return registry().capabilities(self.name)

    def implements(self, hook: str) -> bool:
        return registry().implements(self.name, hook)

    def load(self) -> list[str]:
        """Import the heavy library (once) and return the usable devices."""
        return registry().ensure_loaded(self.name)

    def call(self, hook: str, **kwargs: Any) -> Any:
        """Call this backend's implementation of ``hook`` (no fallback)."""
        if not self.implements(hook):
            raise OpNotImplemented(
                f"backend {self.name!r} does not implement {hook_family(hook)} ({hook})"
            )
        self.load()
        result = registry().caller(self.name, hook)(**kwargs)
        costs.mark_warm(self.name, hook_family(hook))
        return result

    # Array ops ----------------------------------------------------------------
    @property
    def xp(self) -> Any:
        """The backend's Array-API namespace."""
        return self.call("xpcs_array_namespace")

    def to_device(self, array: Any, dtype: Any | None = None) -> Any:
        return self.call("xpcs_to_device", array=array, dtype=dtype)

    def to_numpy(self, array: Any) -> np.ndarray:
        return self.call("xpcs_to_numpy", array=array)

    def provenance(self, requested: str | None = None, fallback_from: str | None = None,
                   reason: str | None = None) -> Provenance:
        info = self.info
        return Provenance(
            backend=self.name,
            backend_version=info.version,
            requested=requested,
            fallback_from=fallback_from,
            reason=reason,
            library_versions=dict(info.library_versions),
        )


# ---------------------------------------------------------------------- selection
def _known() -> dict[str, Plugin]:
    return registry().plugins


def _by_priority() -> list[Plugin]:
    """Every plugin, ``XPCS_BACKEND_PRIORITY`` order first, then by the plugins' priorities."""
    order = config.selection().priority
    rank = {name: i for i, name in enumerate(order)}
    unknown = [n for n in order if n not in _known()]
    if unknown:
        installed = ", ".join(sorted(_known())) or "none"
        raise XpcsBackendError(
            f"XPCS_BACKEND_PRIORITY names {', '.join(unknown)}, not installed; installed backends: {installed}"
        )
    return sorted(_known().values(), key=lambda p: (rank.get(p.name, len(rank)), -p.priority, p.name))


def _require(name: str, source: str, load: bool) -> Backend:
    plugin = registry().get(name)  # imports this plugin's module only
    if plugin is None:
        known = ", ".join(registry().names()) or "none"
        raise XpcsBackendError(
            f"{source}: unknown backend {name!r} (install its plugin distribution); "
            f"installed backends: {known}"
        )
    if not plugin.available:
        raise XpcsBackendError(f"{source}: backend {name!r} is unavailable: {plugin.reason}")
    if load:
        try:
            registry().ensure_loaded(name)
        except BackendUnavailable as exc:
            raise XpcsBackendError(f"{source}: {exc}") from exc
    return Backend(name)


def _usable(plugin: Plugin, load: bool) -> bool:
    if not plugin.available:
        return False
    if not load:
        return True
    try:
        registry().ensure_loaded(plugin.name)
    except BackendUnavailable as exc:
        log.warning("%s; trying the next backend", exc)
        return False
    return True


def _auto_order() -> list[Plugin]:
    """Candidates in the order auto selection and fallback try them."""
    excluded = config.selection().excluded
    return [p for p in _by_priority() if p.name not in excluded]


def select(name: str | None = None, *, load: bool = True) -> tuple[Backend, bool]:
    """Choose the backend for a call; returns ``(backend, explicit)``.

    With ``load=False`` no heavy library is imported (used to show the active backend).
    """
    if name:
        return _require(name.lower(), "backend", load), True
    if _session_backend:
        return _require(_session_backend, "set_backend", load), True
    env = config.selection()
    if env.required:
        return _require(env.required, env.source or "environment", load), True
    for plugin in _auto_order():
        if _usable(plugin, load):
            return Backend(plugin.name), False
    reasons = "; ".join(f"{p.name}: {p.reason}" for p in _by_priority() if p.reason)
    raise XpcsBackendError(
        "no usable backend (install a backend plugin, e.g. the reference one in plugins/xpcs_numpy)"
        + (f"; {reasons}" if reasons else "") + _disabled_hint()
    )


def _disabled_hint() -> str:
    disabled = config.disabled_plugins()
    return f" (XPCS_DISABLE_PLUGINS={','.join(disabled)})" if disabled else ""


def get_backend(name: str | None = None) -> Backend:
    """The backend that would compute a call now (``name`` forces one)."""
    return select(name)[0]


def set_backend(name: str | None) -> None:
    """Set (or with ``None`` clear) the session's backend for the Python API."""
    global _session_backend
    if name is None:
        _session_backend = None
        return
    if not isinstance(name, str):
        raise XpcsInputError(f"set_backend expects a backend name, got {name!r}")
    _require(name.lower(), "set_backend", load=True)
    _session_backend = name.lower()


def _by_cost(hook: str, workload: float) -> tuple[Backend, str] | None:
    """The automatic choice for one call: the usable backend of least estimated time
    (:mod:`xpcs_core.costs`); None when the environment orders backends itself."""
    if _session_backend or config.selection().required or config.selection().priority:
        return None
    family = hook_family(hook)
    rows = []
    for plugin in _auto_order():  # priority order: ties and unknown costs keep it
        if plugin.available and registry().implements(plugin.name, hook):
            est = costs.estimate(plugin.name, plugin.info, family, workload)
            rows.append((math.inf if est is None else est, plugin))
    rows.sort(key=lambda row: row[0])
    for est, plugin in rows:
        if _usable(plugin, load=True):  # only the chosen one (or those before it) is imported
            others = [f"{p.name} {e:.2g} s" for e, p in rows if p is not plugin and math.isfinite(e)]
            how = f"est. {est:.2g} s" if math.isfinite(est) else "no cost estimate"
            return Backend(plugin.name), f"auto: {plugin.name}, {how}" + (
                f" vs {', '.join(others)}" if others else "")
    return None


def call(hook: str, *, backend: str | None = None, workload: float | None = None,
         **kwargs: Any) -> tuple[Any, Provenance]:
    """Run op ``hook`` on the selected backend (with fallback); return ``(result, provenance)``.

    ``workload`` (elements, see :mod:`xpcs_core.costs`): when no backend is named, the
    backend expected to be fastest for this op and size answers, and the provenance says
    why ("auto: numpy, est. 0.3 s vs jax 2.1 s"). Without it, the priority order decides.
    """
    if backend is None and workload is not None:
        auto = _by_cost(hook, workload)
        if auto is not None:
            chosen, reason = auto
            result = chosen.call(hook, **kwargs)
            if result is not None:
                return result, chosen.provenance(reason=reason)
    chosen, explicit = select(backend)
    requested = chosen.name if explicit else None
    if chosen.implements(hook):
        result = chosen.call(hook, **kwargs)
        if result is not None:
            return result, chosen.provenance(requested=requested)
    family = hook_family(hook)
    if explicit:
        raise OpNotImplemented(
            f"backend {chosen.name!r} does not implement {family} ({hook}); "
            "choose another with --backend or XPCS_BACKEND"
        )
    for plugin in _auto_order():
        if plugin.name == chosen.name or not registry().implements(plugin.name, hook):
            continue
        if not _usable(plugin, load=True):
            continue
        other = Backend(plugin.name)
        result = other.call(hook, **kwargs)
        if result is None:
            continue
        reason = f"backend {chosen.name!r} does not implement {family}; used {other.name!r}"
        log.warning(reason)
        return result, other.provenance(fallback_from=chosen.name, reason=reason)
    raise OpNotImplemented(f"no installed backend implements {family} ({hook})")


def selection_order() -> str:
    """The order in force, in words (``xpcs backends``): what the environment requires or
    excludes, then the candidates in the order automatic selection tries them."""
    env = config.selection()
    order = ", ".join(p.name for p in _auto_order()) or "none"
    parts = [f"{env.source} requires {env.required!r}"] if env.required else []
    if env.excluded:
        parts.append("excluded by XPCS_USE_JAX=false: " + ", ".join(sorted(env.excluded)))
    source = "XPCS_BACKEND_PRIORITY, then plugin priority" if env.priority else "plugin priority"
    parts.append(f"candidates by {source}: {order}")
    return "; ".join(parts)


def list_backends() -> list[dict[str, Any]]:
    """One record per discovered plugin (the data of ``xpcs backends --json``)."""
    reg = registry()
    try:
        active: str | None = select(load=False)[0].name
    except XpcsBackendError:
        active = None
    rows = []
    for plugin in _by_priority():
        info = plugin.info
        rows.append(
            {
                "name": plugin.name,
                "distribution": plugin.distribution,
                "version": info.version if info else plugin.distribution_version,
                "available": plugin.available,
                "reason": plugin.reason if not plugin.available else None,
                "capabilities": reg.capabilities(plugin.name) if plugin.ok else [],
                "devices": list(plugin._loaded_devices or (info.devices if info else ())),
                "priority": plugin.priority if info else None,
                "active": plugin.name == active,
                "error": plugin.error,
            }
        )
    return rows
