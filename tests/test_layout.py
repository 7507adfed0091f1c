"""The package's shape: stages in their own packages, small modules, and no import circles, counting the
imports made inside functions too (they run at the worst moment: in a worker, mid-render)."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "lossfilm"


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _file_of(module: str) -> Path | None:
    where = PACKAGE.joinpath(*module.split(".")) if module else PACKAGE
    for path in (where.with_suffix(".py"), where / "__init__.py"):
        if path.is_file():
            return path
    return None


def import_graph() -> dict[str, set[str]]:
    """module -> the lossfilm modules it imports anywhere in its file (dotted, under lossfilm)."""
    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_of(path)
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        if module == "":
            package = []
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[:len(package) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                elif (node.module or "").startswith("lossfilm."):
                    target = node.module[len("lossfilm."):]
                else:
                    continue
                for alias in node.names:  # `from . import x`: the module x, where there is one
                    sub = f"{target}.{alias.name}" if target else alias.name
                    if _file_of(sub):
                        targets.add(sub)
                if target and _file_of(target):
                    targets.add(target)
        graph[module] = targets - {module}
    return graph


def _reexport(a: str, b: str) -> bool:
    """A package's __init__ importing its own module (scene/__init__ -> scene.view): a table of names,
    not a dependency of code, so no circle runs through it."""
    return _file_of(a).name == "__init__.py" and b.startswith(f"{a}.")


def test_no_module_imports_itself_back_through_others():
    graph = {a: {b for b in targets if not _reexport(a, b)} for a, targets in import_graph().items()}
    circles = []

    def reach(start):  # every module start leads to, by its imports
        seen, todo = set(), list(graph[start])
        while todo:
            m = todo.pop()
            if m not in seen:
                seen.add(m)
                todo += graph.get(m, ())
        return seen

    for module in graph:
        back = [m for m in graph[module] if module in reach(m)]
        if back:
            circles.append((module, sorted(back)))
    assert circles == []


def test_stages_live_in_packages_and_modules_stay_small():
    for stage in ("scene", "compute", "paint", "output", "_plumbing"):
        assert (PACKAGE / stage / "__init__.py").is_file(), stage
    sizes = {p.relative_to(PACKAGE).as_posix(): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 700} == {}
    assert sizes["studio.py"] <= 300  # the pipeline only
    # Plumbing is private: nothing public lives flat beside the stages.
    assert not {"executor.py", "threads.py", "redeliver.py", "dynamo_stub.py", "cbuild.py", "files.py"} & set(sizes)


def test_the_public_names_keep_working():
    import lossfilm
    from lossfilm import (Camera, Compare, CustomPlane, Data, Evolve, Grid, HessianPlane, Interpolation,  # noqa: F401
                          ModelsPlane, Move, PCAPlane, Plane, RandomPlane, Run, Scene, Style, Trajectory, WeightsPlane,
                          record)
    from lossfilm.lightning import RecordPath  # noqa: F401
    from lossfilm.scene import Scene as SceneAgain

    assert SceneAgain is Scene
    for name in ("datasets", "models", "surfaces", "render", "render_files", "show"):
        assert getattr(lossfilm, name) is not None
    assert lossfilm.surfaces.rosenbrock().label


def test_the_library_takes_ranges_that_hold_the_applications_pins():
    """pyproject declares compatible ranges for ``pip install .``; requirements*.txt pin exact versions,
    and every pin lies inside its range (one list would drift from the other)."""
    import tomllib

    from packaging.requirements import Requirement

    root = PACKAGE.parent
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    ranges = {}
    for text in project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]:
        req = Requirement(text)
        ranges[req.name.lower()] = req.specifier
    pins = {}
    for name in ("requirements.txt", "requirements-dask.txt", "requirements-hf.txt", "requirements-log.txt"):
        for line in (root / name).read_text().splitlines():
            line = line.split("#")[0].strip()
            if line and not line.startswith("-r"):
                req = Requirement(line)
                assert str(req.specifier).startswith("=="), line  # the application's pins are exact
                pins[req.name.lower()] = next(iter(req.specifier)).version
    assert set(pins) == set(ranges)
    for name, version in pins.items():
        assert ranges[name].contains(version), (name, version, str(ranges[name]))
        assert str(ranges[name]) != "", name  # a range, not "anything"


def test_an_installed_wheel_finds_its_kernels_digest_and_preload_from_any_folder(tmp_path):
    """Built as a wheel and installed away from the checkout: the C kernels' sources ship beside their
    modules, the code digest is taken from the subpackages, and the fork server preloads the painter
    (its memory map holds matplotlib's Agg) for a render with workers, run from another folder."""
    import os
    import shutil
    import subprocess
    import sys

    root = PACKAGE.parent
    src = tmp_path / "src"
    for name in ("lossfilm", "scenes"):
        shutil.copytree(root / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.py", "pyproject.toml", "README.md", "requirements.txt", "requirements-dask.txt"):
        shutil.copy(root / name, src / name)
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                            str(wheels), str(src)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    site = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
                              *map(str, wheels.glob("*.whl"))], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    code = f"""
import sys
from pathlib import Path
import lossfilm
assert Path(lossfilm.__file__).is_relative_to({str(site)!r}), lossfilm.__file__
from lossfilm.compute.cache import PACKAGE, code_digest, computing_files
names = {{p.relative_to(PACKAGE).as_posix() for p in computing_files()}}
assert {{"compute/build.py", "compute/mlp_kernel.c", "scene/planes.py"}} <= names and "scene/view.py" not in names
assert len(code_digest()) == 64
from lossfilm.compute import native
from lossfilm.paint import raster
assert raster.load() is not None and native.load() is not None, (raster.status, native.status)
import lossfilm.scenes
from lossfilm import shipped
assert lossfilm.scenes.__file__ is not None and "rosenbrock_race" in shipped.names()
assert shipped.folder().is_relative_to({str(site)!r})
if __name__ == "__main__":
    import multiprocessing.forkserver as fs
    from lossfilm import render
    from lossfilm.scene.loader import load_scenes
    scene = load_scenes(Path(lossfilm.__file__).parent / "scenes" / "article.py")[0]
    from lossfilm._plumbing.executor import LocalProcesses
    with LocalProcesses(2) as pool:
        result = render(scene, quality="low", formats=["mp4"], fps=4, duration=1, out="out", executor=pool, jobs=2)
        maps = open(f"/proc/{{fs._forkserver._forkserver_pid}}/maps").read()
    print(result.frames, "_backend_agg" in maps)
"""
    script = tmp_path / "user.py"
    script.write_text(code)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[-2:] == ["4", "True"]
