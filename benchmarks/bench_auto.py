"""The automatic backend choice against each named backend, whole process, medians.

For ``xpcs fit``, ``xpcs fit --bayes``, ``xpcs qmap`` and ``xpcs correlate`` on files of
the demo's size, each run as a new process with no backend named and with every
``--backend``; prints the times, the ratio of auto to the fastest named backend
(target <= 1.25) and the second-process effect of jax's persistent compile cache
(target < 0.6 of the first, with an empty cache). Writes ``results/auto-cpu.txt``.

    python benchmarks/bench_auto.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import cpu_model  # benchmarks/_machine.py

XPCS = [sys.executable, "-m", "xpcs_core.cli.main"]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("XPCS_")}


def _run(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(XPCS + args, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "auto-cpu.txt"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="xpcs-bench-auto-"))
    cache = work / "cache"
    env = {**ENV, "XPCS_CACHE_DIR": str(cache)}
    subprocess.run(XPCS + ["simulate", "--raw", str(work / "sim"), "--frames", "2000"], check=True,
                   capture_output=True, env=env)
    subprocess.run(XPCS + ["correlate", str(work / "sim" / "raw.h5"), "--qmap", str(work / "sim" / "qmap.h5"),
                           "-o", str(work / "r.h5")], check=True, capture_output=True, env=env)
    jobs = {
        "fit": ["fit", str(work / "r.h5")],
        "fit --bayes": ["fit", str(work / "r.h5"), "--bayes"],
        "qmap": ["qmap", "--from", str(work / "r.h5"), "--dyn-q", "12", "--sta-q", "120", "-o", str(work / "q.h5")],
        "correlate": ["correlate", str(work / "sim" / "raw.h5"), "--qmap", str(work / "sim" / "qmap.h5"),
                      "-o", str(work / "c.h5")],
    }
    lines = [f"# automatic choice vs named backends, whole process, medians of {args.repeats}",
             f"# machine: {cpu_model()}, {os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}",
             f"{'command':<14}{'auto':>10}{'numpy':>10}{'jax':>10}   auto / fastest named"]
    for name, job in jobs.items():
        times = {}
        for backend in (None, "numpy", "jax"):
            extra = [] if backend is None else ["--backend", backend]
            (work / "q.h5").unlink(missing_ok=True)
            (work / "c.h5").unlink(missing_ok=True)
            _run(job + extra, env)  # warm the compile caches first: a user's second run
            runs = []
            for _ in range(args.repeats):
                (work / "q.h5").unlink(missing_ok=True)
                (work / "c.h5").unlink(missing_ok=True)
                runs.append(_run(job + extra, env))
            times[backend or "auto"] = statistics.median(runs)
        best = min(times["numpy"], times["jax"])
        lines.append(f"{name:<14}{times['auto']:>9.2f}s{times['numpy']:>9.2f}s{times['jax']:>9.2f}s"
                     f"   {times['auto'] / best:.2f}")
        print(lines[-1], flush=True)
    shutil.rmtree(cache, ignore_errors=True)  # jax compile cache: first vs second process
    first = _run(jobs["fit"] + ["--backend", "jax"], env)
    second = _run(jobs["fit"] + ["--backend", "jax"], env)
    lines.append(f"jax compile cache: first process {first:.2f}s, second {second:.2f}s, "
                 f"ratio {second / first:.2f} (target < 0.6)")
    print(lines[-1])
    Path(args.out).write_text("\n".join(lines) + "\n")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
