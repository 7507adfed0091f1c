"""Busy machine: the compute stage of the spirals and tiny-CNN scenes with two CPU-bound processes of
this bench's own running beside it, with the thread budget (the default) against the same work forced
to one thread; and the same on the idle machine. Interleaved whole command-line runs (--format npz: the
numbers, nothing painted), medians of the compute seconds each run reports, the load printed beside.

    python bench/bench_busy.py [--repeat 3] [--scenes spirals_pca tiny_cnn]

Target: under load, the budget's time at most 1.3x the one-thread time.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOG = "while True: pass"


def compute_seconds(scene: str, env: dict) -> float:
    with tempfile.TemporaryDirectory() as out:
        p = subprocess.run([sys.executable, str(ROOT / "render.py"), str(ROOT / "scenes" / f"{scene}.py"), "--format",
                            "npz", "--no-cache", "--json", "-o", out], capture_output=True, text=True, env=env,
                           check=True, cwd=ROOT)
    return json.loads(p.stdout.strip().splitlines()[-1])["seconds"]["compute"]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--scenes", nargs="+", default=["spirals_pca", "tiny_cnn"])
    p.add_argument("--every-core", action="store_true",
                   help="also time every core whatever the load, as before the budget (slow under load: "
                        "the tiny CNN took minutes)")
    a = p.parse_args()
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "LOSSFILM_THREADS", "OMP_WAIT_POLICY")}
    one = dict(base, OMP_NUM_THREADS="1", LOSSFILM_THREADS="1")
    every = dict(base, LOSSFILM_THREADS=str(os.cpu_count()))  # every core whatever the load, as before the budget
    print(f"{os.cpu_count()} cores; load before: {os.getloadavg()[0]:.2f}")
    for busy in (True, False):
        hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(2)] if busy else []
        try:
            time.sleep(1.0 if busy else 0)
            for scene in a.scenes:
                ours, single, all_cores = [], [], []
                for _ in range(a.repeat):  # interleaved: the machine's drift hits all alike
                    ours.append(compute_seconds(scene, base))
                    single.append(compute_seconds(scene, one))
                    if a.every_core:
                        all_cores.append(compute_seconds(scene, every))
                o, s = statistics.median(ours), statistics.median(single)
                e = f"   every core {statistics.median(all_cores):6.2f} s" if all_cores else ""
                print(f"{'busy (2 hogs)' if busy else 'idle':>13}  {scene:<12} budget {o:6.2f} s   one thread "
                      f"{s:6.2f} s   ratio {o / s:.2f}{e}   (load {os.getloadavg()[0]:.2f})")
        finally:
            for h in hogs:
                h.kill()
                h.wait()


if __name__ == "__main__":
    main()
