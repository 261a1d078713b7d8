"""Produce the next items of an iterator in a background thread while the caller uses the current one.

The correlation pass reads and decompresses the next chunk of frames (h5py releases
the GIL while HDF5 decompresses), gathers its pixels and sums it, while the multi-tau
accumulator (numba kernels without the GIL) works on the current chunk.

:class:`Prefetch` runs ``produce(stop)``, a generator, in one thread, at most
``depth`` items ahead of the consumer: an item is made only once a slot is free, and
the slot of an item is freed when the consumer asks for the next one. So at most
``depth + 1`` items exist at once (memory stays bounded) and an item may reuse the
memory of the item ``depth + 1`` places before it (a ring of buffers). An exception of
the producer is raised, the same object, in the consumer when it reaches that point of
the sequence. :meth:`Prefetch.close` (also on leaving a ``with`` block, on an error,
cancellation or Ctrl-C in the consumer) sets ``stop``, which the producer checks
between items (and may check inside one), and joins the thread. ``depth=0`` runs the
producer in the caller's thread, item by item: the same items, no thread.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

__all__ = ["Prefetch", "Stopped"]

T = TypeVar("T")
_ITEM, _DONE, _ERROR = range(3)
#: seconds between checks of the other side while waiting (a stopped consumer, a dead thread)
_POLL = 0.2


class Stopped(Exception):
    """Raised inside a producer (by its own checks of ``stop``) to end it early."""


class Prefetch(Generic[T]):
    """Iterate over ``produce(stop)`` run in a background thread, ``depth`` items ahead.

    ``wait`` is the time the consumer spent waiting for items (seconds); the producer's
    own timings are its business.
    """

    def __init__(self, produce: Callable[[threading.Event], Iterator[T]], depth: int = 1,
                 name: str = "xpcs-reader") -> None:
        self.depth = max(0, int(depth))
        self.stop = threading.Event()
        self.wait = 0.0
        self._gen = produce(self.stop)
        self._finished = False
        self._thread: threading.Thread | None = None
        if self.depth:
            self._slots = threading.Semaphore(self.depth + 1)
            self._queue: queue.Queue[tuple[int, Any]] = queue.Queue()
            self._held = False
            self._thread = threading.Thread(target=self._run, name=name, daemon=True)
            self._thread.start()

    # ----------------------------------------------------------- producer side
    def _run(self) -> None:
        try:
            while True:
                while not self._slots.acquire(timeout=_POLL):
                    if self.stop.is_set():
                        return
                if self.stop.is_set():
                    return
                try:
                    item = next(self._gen)
                except (StopIteration, Stopped):
                    self._queue.put((_DONE, None))
                    return
                self._queue.put((_ITEM, item))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            self._queue.put((_ERROR, exc))
        finally:
            self._gen.close()

    # ----------------------------------------------------------- consumer side
    def __iter__(self) -> Prefetch[T]:
        return self

    def __next__(self) -> T:
        if self._finished:
            raise StopIteration
        if self._thread is None:
            try:
                return next(self._gen)
            except (StopIteration, Stopped):
                self._finished = True
                raise StopIteration from None
        if self._held:  # the consumer is done with the previous item: its slot is free
            self._held = False
            self._slots.release()
        start = time.perf_counter()
        while True:
            try:
                kind, value = self._queue.get(timeout=_POLL)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    self._finished = True
                    raise RuntimeError("the reader thread ended without a word") from None
        self.wait += time.perf_counter() - start
        if kind == _ITEM:
            self._held = True
            return value
        self._finished = True
        self._thread.join()
        if kind == _ERROR:
            raise value
        raise StopIteration

    def close(self) -> None:
        """Stop the producer and wait for its thread to end (idempotent)."""
        self._finished = True
        self.stop.set()
        if self._thread is None:
            self._gen.close()
            return
        self._slots.release()  # wake a producer waiting for a slot
        self._thread.join()
        while not self._queue.empty():  # drop the items made ahead
            self._queue.get_nowait()

    def __enter__(self) -> Prefetch[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
