"""What Sharpness along training costs: scenes/tiny_cnn.py computed (training, PCA plane, grid, paths)
with Scene(track=Sharpness(every="epoch")) (16 moments: the start and 15 epoch ends, 20 Hessian-vector
products each for λ₁) and with trace=True too (+32 products each), against the same scene without it.
Fresh caches, in this process, rounds interleaved; medians of --repeat, the load beside them.

    python bench/bench_sharpness.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from proctree import load  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from lossfilm import Sharpness
    from lossfilm.scene.loader import load_scenes
    from lossfilm.studio import landscape_for

    base = load_scenes(ROOT / "scenes" / "tiny_cnn.py")[0]
    scenes = {"without": base, "lambda1": dataclasses.replace(base, track=Sharpness(every="epoch")),
              "lambda1 + trace": dataclasses.replace(base, track=Sharpness(every="epoch", trace=True))}
    times = {name: [] for name in scenes}
    facts = {}
    for _ in range(args.repeat):
        for name, scene in scenes.items():
            t = time.perf_counter()
            land = landscape_for(scene, cache_dir=tempfile.mkdtemp())[0]
            times[name].append(time.perf_counter() - t)
            facts[name] = (land.facts.get("sharpness"), len(land.traces[0].sharpness) if land.traces[0].sharpness
                           is not None else 0)
    base_s = statistics.median(times["without"])
    print(f"tiny_cnn compute without tracking: {base_s:.2f} s (median of {args.repeat}, load {load()})")
    for name in ("lambda1", "lambda1 + trace"):
        s = statistics.median(times[name])
        info, moments = facts[name]
        per_moment = (s - base_s) / moments
        products = info["products_per_moment"]
        print(f"  with {name}: {s:.2f} s (+{s - base_s:.2f} s): {moments} moments x {products} products, "
              f"{per_moment:.3f} s a moment, {per_moment / products * 1000:.1f} ms a product")


if __name__ == "__main__":
    main()
