"""A helper process for Bayesian fits and posterior plots (no Qt in it).

Posterior sampling and ArviZ run Python for seconds to minutes and, on first use, import
large libraries (emcee, ArviZ, numba, JAX) whose cold imports hold Python's GIL for long
stretches. Run in a thread of the viewer, both would stall its event loop; in this
process they cannot. One persistent process (``python -m xpcs_core.gui.helper``, started
like any program, so it never re-runs the caller's script) serves one request at a time,
and JAX keeps its compiled code between fits.

Protocol over two pipes wrapped as :class:`multiprocessing.connection.Connection`: the
parent sends ``(kind, payload)`` and may send ``("cancel", None)`` while it runs; the
child answers ``("progress", done, total)`` messages, then ``("done", header, sizes)``
followed by ``len(sizes)`` raw buffers (pickle protocol 5, out of band: large posterior
arrays are read straight into memory), ``("error", kind, message)`` or ``("cancelled",)``.
Where pipes cannot be handed to a child (not POSIX), requests run in the calling thread.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from xpcs_core.errors import XpcsCancelled, XpcsError, XpcsInputError

POLL_S = 0.05
CANCEL_GRACE_S = 5.0
"""A request that has not stopped this long after its cancel has its process killed."""
NICENESS = 10
"""The helper runs this much nicer than the viewer, so a busy machine serves the event loop first."""


def handle(kind: str, payload: dict[str, Any], progress: Any, cancel: threading.Event) -> Any:
    """Carry out one request (in the helper process, or in-process as a fallback)."""
    if kind == "warm":
        from xpcs_core.gui.warmup import warm_up

        return warm_up()
    if kind == "fit":
        import xpcs_core as xc

        return xc.fit_g2(progress=progress, cancel=cancel, **payload)
    if kind == "posterior_png":
        import io

        from xpcs_core.plot.posterior import posterior_figure

        fig = posterior_figure(payload["fit"], payload["column"], payload["style"])
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=payload.get("dpi", 80))
        return buf.getvalue()
    raise XpcsInputError(f"helper: unknown request {kind!r}")


# ------------------------------------------------------------------------- child
def _answer(out: Connection, kind: str, payload: dict[str, Any], cancel: threading.Event) -> None:
    try:
        result = handle(kind, payload, lambda d, t: out.send(("progress", int(d), int(t))), cancel)
    except XpcsCancelled:
        out.send(("cancelled",))
    except BaseException as exc:  # reported to the viewer, never fatal here
        name = "input" if isinstance(exc, XpcsInputError) else type(exc).__name__
        out.send(("error", name, " ".join(str(exc).split()) or type(exc).__name__))
    else:
        buffers: list[pickle.PickleBuffer] = []
        header = pickle.dumps(result, protocol=5, buffer_callback=buffers.append)
        views = [b.raw() for b in buffers]
        out.send(("done", header, [v.nbytes for v in views]))
        for v in views:
            out.send_bytes(v)


def serve(read_fd: int, write_fd: int) -> None:
    """The helper's loop: one request at a time, cancel messages honoured meanwhile."""
    if hasattr(os, "nice"):
        os.nice(NICENESS)
    inp, out = Connection(read_fd, writable=False), Connection(write_fd, readable=False)
    pending = None  # a request that arrived while the previous worker was winding down
    while True:
        try:
            kind, payload = pending if pending is not None else inp.recv()
        except (EOFError, OSError):
            return
        pending = None
        if kind == "stop":
            return
        if kind == "cancel":  # arrived after its request finished
            continue
        cancel = threading.Event()
        worker = threading.Thread(target=_answer, args=(out, kind, payload, cancel), daemon=True)
        worker.start()
        while worker.is_alive():
            try:
                if pending is None and inp.poll(POLL_S):
                    message = inp.recv()
                    if message[0] == "stop":
                        cancel.set()
                        pending = message
                    elif message[0] == "cancel":
                        cancel.set()
                    else:  # the next request: the answer was sent, the worker is ending
                        pending = message
                else:
                    worker.join(POLL_S)
            except (EOFError, OSError):  # the viewer is gone
                cancel.set()
                return


# ------------------------------------------------------------------------ parent
class Helper:
    """The viewer's handle. :meth:`call` blocks the calling (worker) thread, never the
    GUI thread; it relays progress and turns ``cancel`` into a cancel message."""

    def __init__(self, *, in_process: bool | None = None) -> None:
        self.in_process = os.name != "posix" if in_process is None else in_process
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._send: Connection | None = None
        self._recv: Connection | None = None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _start(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "xpcs_core.gui.helper", str(to_child_r), str(from_child_w)],
                pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            )
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self._send = Connection(to_child_w, readable=False)
        self._recv = Connection(from_child_r, writable=False)

    def call(self, kind: str, payload: dict[str, Any] | None = None, *, progress: Any = None,
             cancel: threading.Event | None = None) -> Any:
        """Run request ``kind`` in the helper process and return its result."""
        if self.in_process:
            return handle(kind, payload or {}, progress, cancel or threading.Event())
        with self._lock:
            if not self.alive:
                self._start()
            send, recv = self._send, self._recv
            send.send((kind, payload or {}))
            cancel_sent = None
            while True:
                if cancel is not None and cancel.is_set() and cancel_sent is None:
                    send.send(("cancel", None))
                    cancel_sent = time.perf_counter()
                if cancel_sent is not None and time.perf_counter() - cancel_sent > CANCEL_GRACE_S:
                    self._proc.kill()  # busy in something that cannot be interrupted (an import)
                    self._proc.wait()
                    self._forget()
                    raise XpcsCancelled(f"{kind} cancelled (the helper process was stopped)")
                try:
                    message = recv.recv() if recv.poll(POLL_S) else None
                except (EOFError, OSError):
                    self._forget()
                    raise XpcsError("the viewer's helper process stopped unexpectedly") from None
                if message is None:
                    if not self.alive:
                        self._forget()
                        raise XpcsError("the viewer's helper process stopped unexpectedly")
                    continue
                tag = message[0]
                if tag == "progress":
                    if progress is not None:
                        progress(message[1], message[2])
                elif tag == "done":
                    buffers = []
                    for size in message[2]:
                        buf = bytearray(size)
                        recv.recv_bytes_into(buf)
                        buffers.append(buf)
                    return pickle.loads(message[1], buffers=buffers)
                elif tag == "cancelled":
                    raise XpcsCancelled(f"{kind} cancelled")
                else:
                    _, name, text = message
                    if name == "input":
                        raise XpcsInputError(text)
                    raise XpcsError(text if name.startswith("Xpcs") else f"{text} ({name})")

    def _forget(self) -> None:
        for conn in (self._send, self._recv):
            if conn is not None:
                conn.close()
        self._proc = self._send = self._recv = None

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the process to exit (terminate it when it does not)."""
        proc, send = self._proc, self._send
        if proc is None:
            return
        with contextlib.suppress(OSError, ValueError):
            send.send(("stop", None))
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait(timeout)
        self._forget()


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
