"""Discovery and registration of backend plugins (pluggy + entry points).

Entry points of the group ``xpcs_core.backends`` are scanned once per process and
cached. Each plugin module is imported (plugin modules are light: they import their
heavy library only on first use) and registered with one pluggy ``PluginManager``.
A plugin that fails to import, to register or to describe itself is kept with its
error and never takes the application down, unless ``XPCS_STRICT_PLUGINS=1``.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import threading
import traceback
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any

import pluggy

from xpcs_core import config, hookspecs
from xpcs_core.backend_info import BackendInfo
from xpcs_core.errors import BackendUnavailable, XpcsBackendError

log = logging.getLogger(__name__)


@dataclass
class Plugin:
    """One discovered plugin: where it came from, and whether it loaded."""

    name: str
    entry_point: str
    distribution: str | None = None
    distribution_version: str | None = None
    module: Any = None
    info: BackendInfo | None = None
    error: str | None = None
    exception: BaseException | None = None
    traceback: str | None = None
    _loaded_devices: list[str] | None = field(default=None, repr=False)
    _load_failure: str | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """Registered and described itself."""
        return self.module is not None and self.info is not None and self.error is None

    @property
    def available(self) -> bool:
        """Can compute here, as far as known without importing its heavy library."""
        return self.ok and bool(self.info.available) and self._load_failure is None

    @property
    def reason(self) -> str | None:
        if self.error:
            return f"failed to load: {self.error}"
        if self._load_failure:
            return self._load_failure
        return None if self.info is None or self.info.available else self.info.reason

    @property
    def priority(self) -> int:
        return self.info.priority if self.info else -(10**9)


class Registry:
    """All discovered plugins and the pluggy manager they are registered with."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self._plugins: dict[str, Plugin] = {}
        self._pending: dict[str, Callable[[], Plugin]] = {}  # found, not imported yet
        self._callers: dict[tuple[str, str], Any] = {}
        self._lock = threading.RLock()

    @property
    def plugins(self) -> dict[str, Plugin]:
        """Every plugin, each imported and registered (listing, automatic selection)."""
        for name in list(self._pending):
            self.get(name)
        return self._plugins

    def names(self) -> list[str]:
        """The backend names found, without importing any plugin module."""
        return sorted(set(self._plugins) | set(self._pending))

    def get(self, name: str) -> Plugin | None:
        """One plugin, importing only its own module (a backend named explicitly never
        imports the others, so a broken or hanging one cannot block it)."""
        with self._lock:
            load = self._pending.pop(name, None)
            if load is not None:
                load()
            return self._plugins.get(name)

    # ------------------------------------------------------------------ discovery
    def discover(self) -> None:
        disabled = set(config.disabled_plugins())
        strict = config.strict_plugins()
        seen: dict[str, str] = {}
        for ep in sorted(
            importlib.metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP), key=lambda e: e.name
        ):
            name = ep.name.lower()
            dist = getattr(ep, "dist", None)
            where = f"{ep.value} ({dist.metadata['Name'] if dist is not None else 'unknown distribution'})"
            if name in seen:
                if seen[name] != where:  # not just the same distribution seen twice on sys.path
                    log.warning("two plugins register the backend name %r: %s and %s; using the first",
                                name, seen[name], where)
                continue
            seen[name] = where
            if name in disabled:
                log.info("plugin %r disabled by XPCS_DISABLE_PLUGINS", name)
                continue
            self._pending[name] = functools.partial(
                self.add, name, ep.load, entry_point=ep.value,
                distribution=dist.metadata["Name"] if dist is not None else None,
                distribution_version=dist.version if dist is not None else None,
                strict=strict,
            )
        if strict:  # plugin authors: every load error raises now
            self.plugins

    def add(
        self,
        name: str,
        load: Callable[[], Any],
        *,
        entry_point: str = "",
        distribution: str | None = None,
        distribution_version: str | None = None,
        strict: bool = False,
    ) -> Plugin:
        """Register the plugin object returned by ``load()`` (a module or any object with hookimpls).

        Entry points come through here; so can a backend registered at run time
        (a notebook, a test). A failure is kept on the returned :class:`Plugin`.
        """
        plugin = Plugin(
            name=name,
            entry_point=entry_point,
            distribution=distribution,
            distribution_version=distribution_version,
        )
        self._plugins[name] = plugin
        self._pending.pop(name, None)
        try:
            self._register(plugin, load())
        except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt at import too
            # a broken plugin must not take the app down
            plugin.module = None
            plugin.info = None
            plugin.exception = exc
            plugin.error = f"{type(exc).__name__}: {exc}"
            plugin.traceback = traceback.format_exc()
            if self.pm.has_plugin(name):
                self.pm.unregister(name=name)
            self._callers.clear()
            if strict:
                raise XpcsBackendError(
                    f"plugin {name!r} ({entry_point or 'run-time'}) failed to load: {plugin.error}"
                ) from exc
            log.warning("plugin %r (%s) failed to load: %s", name, entry_point, plugin.error)
        return plugin

    def _register(self, plugin: Plugin, obj: Any) -> None:
        self.pm.register(obj, name=plugin.name)
        self._callers.clear()
        plugin.module = obj
        try:  # pluggy's own validation: a hookimpl with no hookspec of the contract
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise XpcsBackendError(f"hooks not in the xpcs contract: {exc}") from None
        if not self.implements(plugin.name, "xpcs_backend_info"):
            raise XpcsBackendError("the plugin does not implement xpcs_backend_info")
        info = self.caller(plugin.name, "xpcs_backend_info")()
        if not isinstance(info, BackendInfo):
            raise XpcsBackendError("xpcs_backend_info did not return a BackendInfo")
        plugin.info = info

    # ------------------------------------------------------------------ hooks
    def implements(self, name: str, hook: str) -> bool:
        if name in self._pending:
            self.get(name)
        caller = getattr(self.pm.hook, hook, None)
        return caller is not None and any(i.plugin_name == name for i in caller.get_hookimpls())

    def caller(self, name: str, hook: str) -> Any:
        """A hook caller that calls only plugin ``name``'s implementation."""
        key = (name, hook)
        with self._lock:
            if key not in self._callers:
                others = [p for n, p in self.pm.list_name_plugin() if n != name]
                self._callers[key] = self.pm.subset_hook_caller(hook, remove_plugins=others)
            return self._callers[key]

    def capabilities(self, name: str) -> list[str]:
        return [
            fam
            for fam, hooks in hookspecs.HOOK_FAMILIES.items()
            if any(self.implements(name, h) for h in hooks)
        ]

    def ensure_loaded(self, name: str) -> list[str]:
        """Import the plugin's heavy library once (``xpcs_backend_load``); return its devices.

        Raises :class:`BackendUnavailable` (cached) when it cannot run here.
        """
        plugin = self.get(name)
        with self._lock:
            if plugin._load_failure is not None:
                raise BackendUnavailable(f"backend {name!r} is unavailable: {plugin._load_failure}")
            if plugin._loaded_devices is None:
                devices: list[str] | None = None
                if self.implements(name, "xpcs_backend_load"):
                    try:
                        devices = self.caller(name, "xpcs_backend_load")()
                    except BackendUnavailable as exc:
                        plugin._load_failure = str(exc)
                        raise BackendUnavailable(f"backend {name!r} is unavailable: {exc}") from exc
                    except Exception as exc:
                        plugin._load_failure = f"{type(exc).__name__}: {exc}"
                        raise BackendUnavailable(
                            f"backend {name!r} failed to start: {plugin._load_failure}"
                        ) from exc
                plugin._loaded_devices = list(devices or plugin.info.devices)
            return plugin._loaded_devices


_registry_lock = threading.Lock()


@functools.cache
def _discovered() -> Registry:
    reg = Registry()
    reg.discover()
    return reg


def registry() -> Registry:
    """The process-wide registry; entry points are scanned on first call only."""
    with _registry_lock:
        return _discovered()


def reset_registry() -> None:
    """Forget the cached registry (tests, or after installing a plugin at run time)."""
    with _registry_lock:
        _discovered.cache_clear()


def hook_family(hook: str) -> str:
    """The family (capability) a hook belongs to."""
    for fam, hooks in hookspecs.HOOK_FAMILIES.items():
        if hook in hooks:
            return fam
    raise XpcsBackendError(f"unknown hook {hook!r}")


def register_backend(name: str, plugin: Any) -> Plugin:
    """Register a backend object (with hookimpls) at run time, without an entry point.

    Raises :class:`XpcsBackendError` when it does not describe itself correctly.
    """
    entry = registry().add(name.lower(), lambda: plugin, entry_point="run-time")
    if entry.error:
        raise XpcsBackendError(f"backend {name!r} could not be registered: {entry.error}")
    return entry
