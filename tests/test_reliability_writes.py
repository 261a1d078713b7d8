"""Output safety (docs/reliability.md): kills in the write window, full disks, long names,
concurrent in-place updates."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from xpcs_core.io.atomic import TEMP_PATTERN, atomic_h5, locked, sweep_stale

SLOW_WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from xpcs_core.io.atomic import atomic_h5, install_signal_handlers
    install_signal_handlers()
    with atomic_h5(sys.argv[1]) as f:
        for i in range(10000):
            f[f"d{i}"] = np.zeros(1000)
            f.flush()
            print("writing", flush=True)
            time.sleep(0.01)
""")


def _ours(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if TEMP_PATTERN.match(p.name)]


def _start_writer(out: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"  # inside the write window
    assert _ours(out.parent)
    return proc


def test_sigterm_in_the_write_window_leaves_nothing(tmp_path):
    out = tmp_path / "out.h5"
    out.write_bytes(b"old result")
    proc = _start_writer(out)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert proc.returncode == 143
    assert _ours(tmp_path) == [] and out.read_bytes() == b"old result"


def test_sigkill_leftover_is_swept_by_the_next_write(tmp_path):
    out = tmp_path / "out.h5"
    proc = _start_writer(out)
    proc.kill()
    proc.wait(timeout=30)
    assert len(_ours(tmp_path)) == 1 and not out.exists()  # a dead process's temp file
    with atomic_h5(tmp_path / "other.h5") as f:
        f["x"] = 1
    assert _ours(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.h5"]


def test_sweep_keeps_live_processes_files(tmp_path):
    mine = tmp_path / f".xpcs-{os.getpid()}-0123abcd.tmp"
    mine.write_bytes(b"")
    assert sweep_stale(tmp_path) == [] and mine.exists()


def test_longest_legal_name_works(tmp_path):
    out = tmp_path / ("r" * 252 + ".h5")  # 255 bytes: the file system's limit
    with atomic_h5(out) as f:
        f["x"] = np.arange(3)
    assert out.exists() and _ours(tmp_path) == []


FULL_DISK = textwrap.dedent("""
    import resource, sys
    import numpy as np
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
    import signal
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead
    from xpcs_core.cli.main import main
    main(["simulate", sys.argv[1], "--shape", "512", "512"])
""")


def test_full_disk_is_one_line_exit_1_and_no_temp(tmp_path):
    out = tmp_path / "big.h5"
    out.write_bytes(b"old")
    res = subprocess.run([sys.executable, "-c", FULL_DISK, str(out)], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 1, res.stderr
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("xpcs: failed:"), res.stderr
    assert "Traceback" not in res.stderr
    assert out.read_bytes() == b"old" and _ours(tmp_path) == []


UPDATER = textwrap.dedent("""
    import sys, time
    import h5py
    from xpcs_core.io.atomic import atomic_h5, locked
    path, name = sys.argv[1], sys.argv[2]
    with locked(path), atomic_h5(path, copy_from=path, allow_same=True) as f:
        time.sleep(0.3)  # widen the race window
        f[name] = 1
""")


def test_concurrent_in_place_updates_all_land(tmp_path):
    path = tmp_path / "shared.h5"
    with h5py.File(path, "w") as f:
        f["base"] = 0
    procs = [subprocess.Popen([sys.executable, "-c", UPDATER, str(path), f"fit{i}"]) for i in range(3)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    with h5py.File(path, "r") as f:
        assert sorted(f) == ["base", "fit0", "fit1", "fit2"]


def test_lock_waits_for_the_holder(tmp_path):
    path = tmp_path / "f.h5"
    path.write_bytes(b"")
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from xpcs_core.io.atomic import locked
        with locked({str(path)!r}):
            print("held", flush=True)
            time.sleep(1.0)
    """)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    start = time.monotonic()
    with locked(path):
        waited = time.monotonic() - start
    holder.wait(timeout=30)
    assert waited > 0.5
