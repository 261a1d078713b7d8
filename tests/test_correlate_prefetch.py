"""The correlation pass's reader thread (xpcs_core.correlation.prefetch, docs/reliability.md):
the same result with and without it, bounded read-ahead, cancellation and Ctrl-C stop it and
leave no thread or scratch file, a read error in it surfaces as the same typed error naming
the file; the gathering's exact integer shortcuts agree with plain sums."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

import xpcs_core as xc
from xpcs_core.correlation import driver, gather
from xpcs_core.correlation.prefetch import Prefetch, Stopped
from xpcs_core.correlation.rawsim import simulate_raw
from xpcs_core.correlation.twotime import XpcsResourceWarning
from xpcs_core.errors import XpcsCancelled, XpcsFormatError
from xpcs_core.io.raw import RawFrames

READER = "xpcs-correlate-reader"


def _readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == READER]


def _assert_same(a, b, where="data"):
    """Every array of two ResultData (nested dataclasses, dicts, lists) bit for bit."""
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            _assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}[{k}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{where}[{k}]")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert a == b or (a != a and b != b), where


@pytest.fixture(autouse=True)
def two_cpus(monkeypatch):
    """The reader thread runs (as on any machine of 2+ CPUs) even where this one has 1."""
    monkeypatch.setattr(driver, "_cpus", lambda: 2)


@pytest.fixture(scope="module")
def eiger(tmp_path_factory):
    """An Eiger-style master + 3 bitshuffle/LZ4 data files, with bad frames."""
    return simulate_raw(tmp_path_factory.mktemp("eiger"), shape=(24, 32), n_frames=300, rate=0.3,
                        n_bad=4, frames_per_file=110, seed=5)


@pytest.mark.parametrize("kw", [
    dict(),
    dict(bad_frames="auto", segments=3, chunk=40),
    dict(mode="both", bad_frames="auto", avg=2, stride=1, chunk=16, frames="5:290"),
    dict(stride=3, segments=2, chunk=7),
])
def test_same_result_with_and_without_the_reader_thread(eiger, monkeypatch, kw):
    results = {}
    for depth in (0, 1, 2):
        monkeypatch.setattr(driver, "PREFETCH_DEPTH", depth)
        results[depth] = xc.correlate(eiger["raw"], eiger["qmap"], backend="numpy", **kw)
    for depth in (1, 2):
        _assert_same(results[0].data, results[depth].data)
        assert results[depth].bad_frames == results[0].bad_frames
    if kw.get("bad_frames") == "auto":  # the injected ones (x20 or zeroed) inside the selection
        lo, hi = (int(v) for v in kw.get("frames", "0:300").split(":"))
        assert {b for b in eiger["bad_frames"] if lo <= b < hi} <= set(results[0].bad_frames)
    assert not _readers()


def test_saxs_and_intensity_are_the_plain_sums_of_the_frames(eiger, monkeypatch):
    from xpcs_core.correlation.normalize import PixelBins
    from xpcs_core.correlation.output import load_partition

    monkeypatch.setattr(driver, "PREFETCH_DEPTH", 1)
    res = xc.correlate(eiger["raw"], eiger["qmap"], backend="numpy", bad_frames="auto", chunk=45, segments=2)
    with h5py.File(eiger["raw"]) as f:  # the three data files, by their external links
        stack = np.concatenate([f[f"entry/data/data_{k:06d}"][()] for k in (1, 2, 3)]).astype(np.float64)
    good = ~np.isin(np.arange(300), res.bad_frames)
    pixels = PixelBins.from_partition(load_partition(eiger["qmap"])).pixels
    flat = stack.reshape(300, -1)
    np.testing.assert_array_equal(res.data.saxs_2d.reshape(-1), flat[good].sum(axis=0) / good.sum())
    np.testing.assert_allclose(res.data.intensity_vs_time[1], flat[:, pixels].mean(axis=1), rtol=1e-13)


def test_the_reader_thread_runs_only_with_more_than_one_cpu(eiger, monkeypatch):
    seen = {}
    for cpus in (2, 1):
        monkeypatch.setattr(driver, "_cpus", lambda c=cpus: c)
        names = set()
        xc.correlate(eiger["raw"], eiger["qmap"], backend="numpy", chunk=50,
                     progress=lambda d, t: names.update(th.name for th in threading.enumerate()))
        seen[cpus] = READER in names
    assert seen == {2: True, 1: False} and not _readers()


def test_float_and_in_memory_stacks_agree_with_and_without_it(eiger, monkeypatch):
    with h5py.File(eiger["data_files"][0]) as f:
        stack = f["entry/data/data"][()].astype(np.float32)
    stack[7] = np.nan  # a listed bad frame may hold anything
    out = {}
    for depth in (0, 1):
        monkeypatch.setattr(driver, "PREFETCH_DEPTH", depth)
        out[depth] = xc.correlate(stack, eiger["qmap"], backend="numpy", frame_time=1e-3, bad_frames=[7],
                                  segments=2, chunk=24)
    _assert_same(out[0].data, out[1].data)
    assert np.isfinite(out[1].data.saxs_2d).all()


def test_cancel_mid_run_stops_the_reader_and_leaves_nothing(eiger, tmp_path, monkeypatch):
    reads = []
    real = RawFrames.read_into

    def counting(self, start, stop, step, out):
        reads.append(len(range(start, stop, step)))
        return real(self, start, stop, step, out)

    monkeypatch.setattr(RawFrames, "read_into", counting)
    monkeypatch.setattr(driver, "PREFETCH_DEPTH", 1)
    cancel = threading.Event()
    ticks = []

    def progress(done, total):
        ticks.append(done)
        if len(ticks) == 2:
            cancel.set()

    out = tmp_path / "res.h5"
    with pytest.warns(XpcsResourceWarning) as caught, pytest.raises(XpcsCancelled):
        xc.correlate(eiger["raw"], eiger["qmap"], out, mode="both", chunk=10, cancel=cancel,
                     progress=progress, backend="numpy", memory_budget=1000)
    assert any("kept on disk" in str(w.message) for w in caught)  # a scratch folder beside the output
    assert len(ticks) == 2 and not _readers()
    assert 30 <= sum(reads) <= 50  # 3 chunks correlated; the reader stopped at most 2 ahead
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_in_the_consumer_stops_the_reader(eiger, tmp_path, monkeypatch):
    monkeypatch.setattr(driver, "PREFETCH_DEPTH", 2)

    def interrupt(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        xc.correlate(eiger["raw"], eiger["qmap"], tmp_path / "r.h5", chunk=10, progress=interrupt,
                     backend="numpy")
    assert not _readers() and list(tmp_path.iterdir()) == []


def _corrupt_chunk(path, frame: int) -> None:
    """Overwrite the compressed bytes of one frame's chunk: its bitshuffle/LZ4 filter fails."""
    with h5py.File(path) as f:
        info = f["entry/data/data"].id.get_chunk_info_by_coord((frame, 0, 0))
    with open(path, "r+b") as fh:
        fh.seek(info.byte_offset + 12)  # keep the block header, break the LZ4 stream
        fh.write(b"\xff" * (info.size - 12))


def test_a_read_error_in_the_reader_is_the_same_typed_error(eiger, tmp_path, monkeypatch):
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(Path(eiger["raw"]).parent, root)
    _corrupt_chunk(root / "raw_data_000002.h5", 50)  # raw frame 160, after a few chunks went through
    messages = {}
    for depth in (0, 1):
        monkeypatch.setattr(driver, "PREFETCH_DEPTH", depth)
        ticks = []
        with pytest.raises(XpcsFormatError) as err:
            xc.correlate(root / "raw_master.h5", root / "qmap.h5", tmp_path / "r.h5", chunk=20,
                         backend="numpy", progress=lambda d, t: ticks.append(d))
        messages[depth] = str(err.value)
        assert isinstance(err.value.__cause__, OSError)  # h5py's, for the failed filter
        assert ticks[-1] == 160  # every chunk before the broken one went through, in order
        assert not _readers() and sorted(p.name for p in tmp_path.iterdir()) == ["copy"]
    assert messages[1] == messages[0]
    assert str(root / "raw_master.h5") in messages[1] and "cannot read frames 160:" in messages[1]


def test_prefetch_is_bounded_and_raises_the_producers_error():
    made, seen = [], []
    boom = ValueError("boom")

    def produce(stop):
        for k in range(10):
            made.append(k)
            if k == 7:
                raise boom
            yield k

    with Prefetch(produce, depth=2) as items:
        with pytest.raises(ValueError) as err:
            for k in items:
                time.sleep(0.02)  # the producer is fast: it runs ahead as far as it may
                assert len(made) - len(seen) <= 3  # depth + the one in the consumer's hands
                seen.append(k)
    assert err.value is boom and seen == list(range(7))
    with Prefetch(produce, depth=0) as items:  # no thread: the same items
        assert next(items) == 0 and len(made) == 9


def test_prefetch_close_stops_a_long_producer():
    state = {"made": 0, "closed": False}

    def produce(stop):
        try:
            while True:
                if stop.is_set():
                    raise Stopped
                state["made"] += 1
                yield state["made"]
        finally:
            state["closed"] = True

    items = Prefetch(produce, depth=1, name=READER)
    assert next(items) == 1
    items.close()
    assert state["closed"] and state["made"] <= 3 and not _readers()
    with pytest.raises(StopIteration):
        next(items)


@pytest.mark.parametrize("dtype, high", [(np.uint16, 3), (np.uint16, 60000), (np.uint8, 255), (np.bool_, 2),
                                         (np.uint32, 70000), (np.int32, 1000)])
@pytest.mark.parametrize("piece", [None, 8])
def test_gather_sums_are_exact_on_every_shortcut(dtype, high, piece, monkeypatch):
    if piece:
        monkeypatch.setattr(gather, "_INT_PIECE", 700 * piece)  # pieces of 8 frames
    rng = np.random.default_rng(3)
    flat = rng.integers(0, high, size=(45, 700)).astype(dtype)
    pix = np.r_[0:300, 340:700]
    valid = rng.random(45) > 0.2
    g = gather.Gather(pix, 700)
    sums = np.zeros(700)
    x, totals = g.chunk(flat, valid, sums)
    wide = flat.astype(np.int64)
    np.testing.assert_array_equal(x, flat[:, pix])
    np.testing.assert_array_equal(totals, wide[:, pix].sum(axis=1).astype(np.float64))
    np.testing.assert_array_equal(sums, wide[valid].sum(axis=0).astype(np.float64))
    np.testing.assert_array_equal(g.totals(flat), totals)
