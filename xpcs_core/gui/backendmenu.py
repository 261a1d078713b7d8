"""The Backend menu: one checkable item per discovered backend (unavailable ones greyed
out with their reason as tooltip), plus "Automatic", which leaves the choice to the
environment exactly as the CLI does without ``--backend``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu

if TYPE_CHECKING:
    from xpcs_core.gui.session import Session

AUTO = "Automatic"


def automatic_choice() -> tuple[str | None, bool, str | None]:
    """(backend name, explicit, error) of the environment's choice, without loading it."""
    from xpcs_core import backends
    from xpcs_core.errors import XpcsError

    try:
        chosen, explicit = backends.select(load=False)
    except XpcsError as exc:
        return None, False, str(exc)
    return chosen.name, explicit, None


class BackendMenu(QMenu):
    """Rebuilt each time it opens, so a backend registered at run time shows up."""

    def __init__(self, session: Session, parent: Any = None) -> None:
        super().__init__("&Backend", parent)
        self.session = session
        self.setToolTipsVisible(True)
        self.group = QActionGroup(self)
        self.group.setExclusive(True)
        self.actions_by_name: dict[str, QAction] = {}
        self.aboutToShow.connect(self.rebuild)
        self.rebuild()

    def rebuild(self) -> None:
        import xpcs_core as xc

        for action in list(self.group.actions()):
            self.group.removeAction(action)
        self.clear()
        self.actions_by_name = {}
        name, explicit, error = automatic_choice()
        auto = QAction(f"{AUTO} ({name or 'none'}{', from the environment' if explicit else ''})", self)
        auto.setCheckable(True)
        auto.setToolTip(error or "XPCS_BACKEND / XPCS_USE_JAX / priority decide, as on the command line")
        auto.triggered.connect(lambda: self.session.set_backend(None))
        self.group.addAction(auto)
        self.addAction(auto)
        self.actions_by_name[AUTO] = auto
        self.addSeparator()
        for row in xc.list_backends():
            label = row["name"]
            if row.get("devices"):
                label += f"  [{', '.join(row['devices'])}]"
            action = QAction(label, self)
            action.setCheckable(True)
            action.setEnabled(bool(row["available"]))
            tip = row.get("reason") if not row["available"] else (
                f"{row.get('distribution') or row['name']} {row.get('version') or ''}; "
                f"capabilities: {', '.join(row.get('capabilities') or [])}")
            action.setToolTip(tip or "")
            action.triggered.connect(lambda _=False, n=row["name"]: self.session.set_backend(n))
            self.group.addAction(action)
            self.addAction(action)
            self.actions_by_name[row["name"]] = action
        current = self.session.backend
        target = self.actions_by_name.get(current) if current else None
        (target or auto).setChecked(True)

    def choose(self, name: str | None) -> None:
        """Pick a backend as a click on its item would (None: Automatic)."""
        self.rebuild()
        action = self.actions_by_name.get(name or AUTO)
        if action is None or not action.isEnabled():
            from xpcs_core.errors import XpcsBackendError

            raise XpcsBackendError(f"backend {name!r} is not available in this session")
        action.trigger()


def backend_status(session: Session) -> str:
    """``backend: numpy (automatic) · cpu`` for the status bar."""
    import xpcs_core as xc

    name, explicit, error = (session.backend, True, None) if session.backend else automatic_choice()
    if name is None:
        return f"backend: none ({error})"
    devices = next((r.get("devices") for r in xc.list_backends() if r["name"] == name), None) or ["?"]
    how = "menu" if session.backend else ("environment" if explicit else "automatic")
    return f"backend: {name} ({how}) · {', '.join(devices)}"
