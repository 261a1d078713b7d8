"""Two-time correlation of one bin of 20,000 pixels over 5,000 frames, per backend:
seconds and peak resident memory, each backend in its own process. Writes
``results/twotime-cpu.txt``.

    python benchmarks/bench_twotime.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from _machine import cpu_model  # benchmarks/_machine.py

CHILD = """
import json, resource, sys, time
import numpy as np
from xpcs_core.backends import Backend
b = Backend(sys.argv[1])
frames = np.random.default_rng(0).poisson(0.5, (5000, 20000)).astype(np.float64)
b.to_numpy(b.call("xpcs_twotime", frames=frames[:200]))  # compile / warm up
t = time.perf_counter()
c2 = b.to_numpy(b.call("xpcs_twotime", frames=frames))
dt = time.perf_counter() - t
print(json.dumps({"s": dt, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "diag": float(np.nanmean(np.diagonal(c2, 1)))}))
"""


def main() -> None:
    cpu = cpu_model()
    lines = [f"# two-time, one bin of 20,000 pixels x 5,000 frames (float64), machine: {cpu}, {os.cpu_count()} cores"]
    for name in ("numpy", "jax"):
        out = subprocess.run([sys.executable, "-c", CHILD, name], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        lines.append(f"{name:<6} {r['s']:7.2f} s   peak RSS {r['rss_mb']:7.0f} MB   (frames 800 MB, C2 200 MB)")
        print(lines[-1], flush=True)
    (Path(__file__).parent / "results" / "twotime-cpu.txt").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
