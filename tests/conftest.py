import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lossfilm.scene_loader import load_scenes  # noqa: E402


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


# Property tests run on shared, sometimes loaded machines: judge them by their examples, not their speed.
from hypothesis import settings  # noqa: E402

settings.register_profile("shared-machine", deadline=None)
settings.load_profile("shared-machine")
