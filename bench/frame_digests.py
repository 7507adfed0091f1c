"""The painted frames of shipped scenes as digests, to check that a change of the painter's code leaves
every picture as it was (a refactor) or to see which ones it changes (a fix):

    python bench/frame_digests.py > before.txt     # on the commit before
    python bench/frame_digests.py > after.txt      # on the change
    diff before.txt after.txt                      # no output: pixel for pixel the same

Each scene is painted at three sizes (16:9, 1:1, 9:16) and three moments (first, middle, last frame), in
this process, from numbers computed once into --cache-dir. The numbers themselves are not compared (the
cache's key covers the computing code): keep one cache for both runs where the computing code is
unchanged, or the film follows any change of the numbers too. hessian_cnn's numbers depend on how many
threads the thread budget gives torch (float sums in another order): compare it on an idle machine.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCENES = ("article", "optimizer_race", "rosenbrock_race", "beale", "two_minima", "three_runs", "skip_vs_plain",
          "spirals_evolving")
SIZES = ((854, 480), (480, 480), (360, 640))


def main() -> None:
    from lossfilm.pictures import compare_picture, view_of
    from lossfilm.scene.compare import Compare, panel_geometry
    from lossfilm.scene.loader import load_scenes
    from lossfilm.settings import MIN_SIZE, Options
    from lossfilm.studio import landscape_for

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("scenes", nargs="*", default=SCENES)
    p.add_argument("--cache-dir", default="media/cache")
    p.add_argument("--flat", action="store_true", help="also each scene's flat view (Style(view='2d'))")
    args = p.parse_args()
    for name in args.scenes:
        for scene in load_scenes(ROOT / "scenes" / f"{name}.py"):
            views = [scene]
            if args.flat and not isinstance(scene, Compare):
                views.append(dataclasses.replace(scene, style=dataclasses.replace(scene.style, view="2d")))
            for seen in views:
                for size in SIZES:
                    settings = Options(quality="low", size=size, fps=6, duration=2).check().resolve(seen)
                    if isinstance(seen, Compare):
                        look = settings.look
                        geometry = panel_geometry(seen, look.width, look.height, look.dpi, MIN_SIZE)
                        found = [landscape_for(s, cache_dir=args.cache_dir) for s in seen.scenes]
                        picture = compare_picture(seen, settings, geometry, found)[0]
                    else:
                        picture = view_of(seen, landscape_for(seen, cache_dir=args.cache_dir)[0], settings)[0]
                    painter = picture.painter()
                    try:
                        for i in (0, settings.frames // 2, settings.frames - 1):
                            digest = hashlib.sha256(bytes(painter.paint(i))).hexdigest()[:16]
                            print(f"{name} {seen.style.view if not isinstance(seen, Compare) else 'panels'} "
                                  f"{size[0]}x{size[1]} frame {i}: {digest}", flush=True)
                    finally:
                        painter.close()


if __name__ == "__main__":
    main()
