"""Which packages the wheel holds: every subpackage of lossfilm, found rather than listed, and the shipped
scenes (``scenes/``), which travel inside it as ``lossfilm.scenes`` so that ``lossfilm`` with no scene
file renders the article. pyproject.toml has everything else; its tables cannot find packages and map
one folder to another name at once."""
from setuptools import find_packages, setup

setup(packages=find_packages(include=["lossfilm", "lossfilm.*"]) + ["lossfilm.scenes"],
      package_dir={"lossfilm.scenes": "scenes"})
