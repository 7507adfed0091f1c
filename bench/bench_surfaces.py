"""Textbook-surface benchmark: the Rosenbrock race (scenes/rosenbrock_race.py) at -q medium, 8 s, from
a cold cache, against the genre's usual way: the same four optimizers stepped in a Python loop, then a
matplotlib FuncAnimation of a contour plot with the growing paths written by FFMpegWriter, at the same
frame count and size. Both are whole commands in fresh processes, interleaved; medians of --repeat
rounds, with the load beside them and the peak summed RSS of each command's process tree.

Also the same race in the flat view (Style(view="2d")): the same kind of picture as the baseline's, a
contour map with the growing paths. And the compute stage alone (paths, lr tuning, grid), tuning 8 runs.

    python bench/bench_surfaces.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from proctree import load, measure  # noqa: E402

FRAMES, WIDTH, HEIGHT, FPS = 240, 1280, 720, 30


def baseline(out: str) -> None:
    """What the optimizer-visualisation repositories do: contour once, paths as lines, FuncAnimation."""
    import imageio_ffmpeg
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import torch
    from matplotlib.animation import FFMpegWriter, FuncAnimation

    def f(x, y):
        return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2

    def run(opt_class, lr, steps=600, **kw):
        p = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
        opt = opt_class([p], lr=lr, **kw)
        path = [p.detach().clone().numpy()]
        for _ in range(steps):
            opt.zero_grad()
            f(p[0], p[1]).backward()
            opt.step()
            path.append(p.detach().clone().numpy())
        return np.array(path)

    paths = [run(torch.optim.SGD, 1e-3), run(torch.optim.SGD, 1e-3, momentum=0.9), run(torch.optim.NAdam, 0.05),
             run(torch.optim.Adam, 1.0)]
    x, y = np.meshgrid(np.linspace(-2, 2, 160), np.linspace(-1, 3, 160))
    matplotlib.rcParams["animation.ffmpeg_path"] = imageio_ffmpeg.get_ffmpeg_exe()
    fig, ax = plt.subplots(figsize=(WIDTH / 100, HEIGHT / 100), dpi=100)
    ax.contourf(x, y, np.log10(f(x, y) + 1e-6), levels=30, cmap="viridis")
    ax.plot([1], [1], "r*", ms=12)
    lines = [ax.plot([], [], lw=2, label=name)[0] for name in ("SGD", "momentum", "NAdam", "Adam")]
    ax.legend()
    steps = np.linspace(0, 600, FRAMES).astype(int)

    def update(i):
        for line, path in zip(lines, paths):
            line.set_data(path[:steps[i] + 1, 0], path[:steps[i] + 1, 1])
        return lines

    FuncAnimation(fig, update, frames=FRAMES).save(out, writer=FFMpegWriter(fps=FPS, codec="libx264"))


def compute_only() -> dict:
    import torch

    from lossfilm import Run, Scene, surfaces
    from lossfilm.compute.descent import landscape
    from lossfilm.scene.loader import load_scenes

    torch.set_num_threads(1)
    scene = load_scenes(ROOT / "scenes" / "rosenbrock_race.py")[0]
    landscape(scene)  # warm: the first call pays for torch's lazy set-up
    t = time.perf_counter()
    landscape(scene)
    race = time.perf_counter() - t
    eight = Scene(name="t8", surface=surfaces.rosenbrock(),
                  runs=[Run(o, lr="tune", steps=200) for o in ("sgd", "adam", "rmsprop", "adagrad")] * 2)
    t = time.perf_counter()
    landscape(eight)
    return {"race_compute_s": race, "tune_8_runs_200_steps_s": time.perf_counter() - t}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=["baseline", "compute"])
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.child == "baseline":
        return baseline(args.out)
    if args.child == "compute":
        return print(json.dumps(compute_only()))

    times: dict[str, list] = {"baseline": [], "ours": [], "ours_2d": []}
    with tempfile.TemporaryDirectory() as d:
        flat = Path(d) / "rosenbrock_2d.py"
        flat.write_text("import dataclasses\nfrom lossfilm.scene.loader import load_scenes\n"
                        f"_race = load_scenes(r'{ROOT / 'scenes' / 'rosenbrock_race.py'}')[0]\n"
                        "scene = dataclasses.replace(_race, style=dataclasses.replace(_race.style, view='2d'))\n")
        for r in range(args.repeat):
            order = ["baseline", "ours", "ours_2d"]
            for kind in order[r % 3:] + order[:r % 3]:
                if kind == "baseline":
                    cmd = [sys.executable, __file__, "--child", "baseline", "--out", f"{d}/base.mp4"]
                else:  # a cold cache every time
                    scene = ROOT / "scenes" / "rosenbrock_race.py" if kind == "ours" else flat
                    cmd = [sys.executable, str(ROOT / "render.py"), str(scene),
                           "-q", "medium", "--format", "mp4", "-o", d, "--cache-dir", f"{d}/cache-{kind}-{r}"]
                m = measure(cmd, cwd=d)
                m["load"] = load()
                times[kind].append(m)
                print(f"round {r}: {kind:8s} {m['seconds']:6.2f} s  peak {m['peak_mb']:6.0f} MB  load {m['load']}")
    med = {k: statistics.median(m["seconds"] for m in v) for k, v in times.items()}
    peak = {k: max(m["peak_mb"] for m in v) for k, v in times.items()}
    print(f"median: baseline {med['baseline']:.2f} s, ours {med['ours']:.2f} s, ours is "
          f"{med['baseline'] / med['ours']:.2f}x faster (target 3x); peak tree RSS baseline "
          f"{peak['baseline']:.0f} MB, ours {peak['ours']:.0f} MB")
    print(f"the flat view (Style(view='2d'), the baseline's kind of picture): {med['ours_2d']:.2f} s, "
          f"{med['baseline'] / med['ours_2d']:.2f}x faster than the baseline; peak {peak['ours_2d']:.0f} MB")
    out = subprocess.run([sys.executable, __file__, "--child", "compute"], capture_output=True, text=True, check=True)
    c = json.loads(out.stdout)
    print(f"compute stage of the race: {c['race_compute_s']:.3f} s (target < 0.5 s); tuning 8 runs of 200 steps: "
          f"{c['tune_8_runs_200_steps_s']:.3f} s")


if __name__ == "__main__":
    main()
