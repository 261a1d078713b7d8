"""What a backend says about itself, and what the core knows about each plugin."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BackendInfo:
    """Returned by a backend's ``xpcs_backend_info`` hook (cheap, no heavy import)."""

    name: str
    version: str
    priority: int = 0
    available: bool = True
    reason: str | None = None
    devices: tuple[str, ...] = ("cpu",)
    library_versions: dict[str, str] = field(default_factory=dict)
    description: str = ""
    costs: dict[str, tuple[float, ...]] = field(default_factory=dict)
    """Per hook family, ``(overhead_s, per_element_s, first_call_s)`` on the device this
    backend will use: the built-in defaults of the automatic choice (:mod:`xpcs_core.costs`)."""


@dataclass(frozen=True)
class Provenance:
    """Which backend computed a result, and why that one."""

    backend: str
    backend_version: str
    requested: str | None = None
    fallback_from: str | None = None
    reason: str | None = None
    library_versions: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "backend": self.backend,
            "backend_version": self.backend_version,
            "requested": self.requested,
            "fallback_from": self.fallback_from,
            "reason": self.reason,
            "library_versions": dict(self.library_versions),
        }
