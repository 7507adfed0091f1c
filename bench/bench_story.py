"""What a storyboard costs per frame: scenes/lecture_rosenbrock.py painted with its story (title cards,
callouts placed clear of the text, runs hidden in a beat, chapters) against the same scene without one
(the camera's plain orbit, the paths growing over the clip), the same frames at the same size, in this
process from numbers computed once. Rounds interleaved; medians of --repeat, with the load beside them.
Then the whole render of each (mp4 with chapters and captions, against mp4) as fresh commands.

    python bench/bench_story.py [--repeat 5] [--size 1280x720]
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

from proctree import load, measure  # noqa: E402


def paint_all(picture) -> float:
    """Seconds per frame to paint every frame of ``picture`` (the figure built once, as a worker does)."""
    painter = picture.painter()
    t = time.perf_counter()
    for i in range(len(picture.plan)):
        painter.paint(i)
    seconds = time.perf_counter() - t
    painter.close()
    return seconds / len(picture.plan)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--size", default="1280x720")
    args = parser.parse_args()
    from lossfilm.pictures import view_of
    from lossfilm.scene.loader import load_scenes
    from lossfilm.settings import Options
    from lossfilm.studio import landscape_for

    scene = load_scenes(ROOT / "scenes" / "lecture_rosenbrock.py")[0]
    plain = dataclasses.replace(scene, story=None)
    cache = tempfile.mkdtemp()
    land = landscape_for(scene, cache_dir=cache)[0]
    size = tuple(int(v) for v in args.size.split("x"))
    options = Options(quality="medium", size=size).check()
    pictures = {"story": view_of(scene, land, options.resolve(scene))[0],
                "plain": view_of(plain, land, options.resolve(plain))[0]}
    frames = len(pictures["story"].plan)
    times = {name: [] for name in pictures}
    loads = []
    for _ in range(args.repeat):
        for name, picture in pictures.items():
            times[name].append(paint_all(picture))
        loads.append(load())
    story, base = statistics.median(times["story"]), statistics.median(times["plain"])
    print(f"paint, {frames} frames at {size[0]}x{size[1]}: with its story {1000 * story:.1f} ms/frame, "
          f"without {1000 * base:.1f} ms/frame ({story / base:.2f}x); medians of {args.repeat}, "
          f"load {loads[-1]}")

    with tempfile.TemporaryDirectory() as out:
        plain_file = Path(out) / "plain.py"
        lecture = str(ROOT / "scenes" / "lecture_rosenbrock.py")
        plain_file.write_text("import dataclasses, runpy\n"
                              f"scene = dataclasses.replace(runpy.run_path({lecture!r})['scene'], story=None, "
                              "name='plain')\n")
        commands = {"story": [sys.executable, str(ROOT / "render.py"), str(ROOT / "scenes" / "lecture_rosenbrock.py"),
                              "--format", "mp4", "-o", out, "--cache-dir", cache, "--size", args.size],
                    "plain": [sys.executable, str(ROOT / "render.py"), str(plain_file), "--format", "mp4", "-o", out,
                              "--cache-dir", cache, "--size", args.size]}
        runs = {name: [] for name in commands}
        for _ in range(max(1, args.repeat // 2)):
            for name, cmd in commands.items():
                done = measure(cmd)
                assert done["returncode"] == 0, done
                runs[name].append(done)

        def med(name, key):
            return statistics.median(r[key] for r in runs[name])

        print(f"render (mp4; the story's with chapters and a caption track): {med('story', 'seconds'):.2f} s, "
              f"peak {med('story', 'peak_mb'):.0f} MB (process tree) against {med('plain', 'seconds'):.2f} s, "
              f"{med('plain', 'peak_mb'):.0f} MB without a story; load {load()}")


if __name__ == "__main__":
    main()
