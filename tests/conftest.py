import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from typing import NamedTuple  # noqa: E402

from lossfilm.scene.loader import load_scenes  # noqa: E402


class Done(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys, monkeypatch):
    """The command line's entry point in this process, from the project's root: fast enough to try every
    bad input. Returns (returncode, stdout, stderr), by name or unpacked."""
    from lossfilm.cli import main

    monkeypatch.chdir(ROOT)

    def call(*args):
        code = main(list(args))
        out, err = capsys.readouterr()
        return Done(code, out, err)

    return call


@pytest.fixture
def rejected(cli, tmp_path):
    """A scene file written from ``source`` and rendered to npz through the command line: returns its
    Done after checking that it exited 2 and wrote nothing."""
    def call(name: str, source: str) -> Done:
        scene = tmp_path / f"{name}.py"
        scene.write_text(source)
        done = cli(str(scene), "-q", "low", "--format", "npz", "-o", str(tmp_path / "out"), "--no-cache")
        assert done.returncode == 2, done
        assert not (tmp_path / "out" / f"{name}.npz").exists()
        return done

    return call


@pytest.fixture(scope="session")
def article():
    return load_scenes(ROOT / "scenes" / "article.py")[0]


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    """One landscape cache for the whole session: each scene is trained once."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def article_landscape(article, cache_dir):
    from lossfilm.studio import landscape_for

    return landscape_for(article, cache_dir=cache_dir)[0]


# The files made from the numbers, rendered once for the page's tests and the npz and PLY tests.
@pytest.fixture(scope="session")
def race(cache_dir, tmp_path_factory):
    """The Rosenbrock race (four runs, log z, known minimum) as html, npz and ply, with -j 2."""
    from lossfilm.compute import cache
    from lossfilm.studio import render

    scene = load_scenes(ROOT / "scenes" / "rosenbrock_race.py")[0]
    out = tmp_path_factory.mktemp("race")
    result = render(scene, quality="low", formats=["mp4", "html", "npz", "ply"], out=out, fps=8, duration=2,
                    cache_dir=cache_dir, jobs=2)
    land = cache.load(cache.path_for(scene, cache_dir))
    return scene, result, land


@pytest.fixture(scope="session")
def article_page(article, cache_dir, tmp_path_factory):
    from lossfilm.compute import cache
    from lossfilm.studio import render

    out = tmp_path_factory.mktemp("article")
    result = render(article, quality="low", formats=["html", "npz"], out=out, fps=8, duration=2,
                    cache_dir=cache_dir, jobs=1)
    return result, cache.load(cache.path_for(article, cache_dir))



# Property tests run on shared, sometimes loaded machines: judge them by their examples, not their speed.
from hypothesis import settings  # noqa: E402

settings.register_profile("shared-machine", deadline=None)
settings.load_profile("shared-machine")
