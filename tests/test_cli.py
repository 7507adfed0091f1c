"""The command line as a user meets it: exit codes, one-line errors, no files on failure, --json."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args, cwd=None):
    """The real thing: a fresh interpreter running render.py."""
    return subprocess.run([sys.executable, str(ROOT / "render.py"), *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=300)


def test_renders_a_scene_and_reports_json(tmp_path, cache_dir):
    p = run("scenes/article.py", "-q", "low", "--fps", "5", "--duration", "1", "--format", "mp4",
            "-o", str(tmp_path), "--cache-dir", str(cache_dir), "--json")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert report["scene"] == "article" and report["frames"] == 5 and report["fps"] == 5
    assert Path(report["outputs"]["mp4"]).is_file() and report["outputs"]["mp4"] == str(tmp_path / "article.mp4")
    assert report["cache"] in ("hit", "miss")


def test_no_cache_says_so(tmp_path):
    p = run("scenes/article_as_published.py", "-q", "low", "--fps", "2", "--duration", "1", "--format", "gif",
            "-o", str(tmp_path), "--no-cache", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["cache"] == "off"
    assert (tmp_path / "article_as_published.gif").is_file()


def _scene_file(tmp_path, body):
    f = tmp_path / "bad_scene.py"
    f.write_text("from lossfilm import *\n" + body)
    return f


@pytest.mark.parametrize("args,message", [
    (["missing.py"], "missing.py: scene file not found"),
    (["-q", "ultra"], "invalid choice: 'ultra'"),
    (["--format", "avi"], "invalid choice: 'avi'"),
    (["--fps", "0"], "--fps: expected a positive integer"),
    (["--duration", "-2"], "--duration: expected a positive number"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--device", "tpu"], "invalid choice: 'tpu'"),
])
def test_bad_command_lines_exit_2_with_one_line_and_no_output(cli, tmp_path, args, message):
    out = tmp_path / "out"
    p = cli(*args, "-o", str(out))
    assert p.returncode == 2
    assert message in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "Traceback" not in p.stderr
    assert not out.exists() or not any(out.iterdir())


def test_device_cuda_uses_the_gpu_or_says_there_is_none_and_renders_on_the_cpu(cli, tmp_path):
    import torch

    p = cli("scenes/article.py", "-q", "low", "--fps", "4", "--duration", "1", "--format", "png",
            "-o", str(tmp_path), "--no-cache", "--device", "cuda")
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "article.png").stat().st_size > 0
    assert ("no GPU" in p.stderr) == (not torch.cuda.is_available()), p.stderr


@pytest.mark.parametrize("body,message", [
    ("scene = Scene(\n", "bad_scene.py:2: syntax error"),
    ("x = 1\n", "expected at least one Scene"),
    ("raise ValueError('boom')\n", "bad_scene.py:2: the scene file raised ValueError: boom"),
    ("g = Grid(step=-0.1)\n", "bad_scene.py:2: grid.step: expected a positive number, got -0.1"),
    ("g = Grid(a=(1, -1))\n", "grid.a: expected lo < hi"),
    ("r = Run(lr=0)\n", "run.lr: expected a positive number"),
    ("r = Run(optimizer='lion')\n", "run.optimizer: expected one of sgd, adam"),
    ("r = Run(epochs=-1)\n", "run.epochs: expected an integer >= 0"),
    ("import scenes_that_do_not_exist\n", "ModuleNotFoundError"),
])
def test_broken_scene_files_exit_2_naming_file_line_and_field(cli, tmp_path, body, message):
    f = _scene_file(tmp_path, body)
    out = tmp_path / "out"
    p = cli(str(f), "-o", str(out))
    assert p.returncode == 2, p.stderr
    assert message in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert not out.exists() or not any(out.iterdir())


def test_a_plane_naming_a_missing_parameter_is_bad_input(cli, tmp_path):
    f = _scene_file(tmp_path, "import article\nfrom dataclasses import replace\n"
                              "scene = replace(article.scene, name='x', plane=WeightsPlane('0.weight', 'nope'),"
                              " runs=[Run(epochs=1)])\n")
    (tmp_path / "article.py").write_text((ROOT / "scenes" / "article.py").read_text())
    out = tmp_path / "out"
    p = cli(str(f), "-q", "low", "--fps", "2", "--duration", "1", "-o", str(out), "--no-cache")
    assert p.returncode == 2, p.stderr
    assert "plane.b: expected a scalar parameter" in p.stderr and "'nope'" in p.stderr
    assert not any(out.iterdir())


def test_an_unwritable_output_folder_is_bad_input(cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    p = cli("-o", str(blocker / "sub"))
    assert p.returncode == 2 and "-o" in p.stderr


def test_a_shipped_scene_renders_by_name_from_any_folder(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no scenes/ here
    for given in ("beale", "scenes/beale.py"):
        done = cli(given, "-q", "low", "--fps", "4", "--duration", "1", "--format", "npz", "-o", f"out{len(given)}",
                   "--cache-dir", "cache")
        assert done.returncode == 0, done.stderr
        assert (tmp_path / f"out{len(given)}" / "beale.npz").is_file()
    (tmp_path / "beale.py").write_text("raise SystemExit('mine, not the shipped one')\n")
    done = cli("beale.py", "-q", "low", "--format", "npz", "-o", "out")  # a file that exists always wins
    assert done.returncode == 2 and "beale.py:1: the scene file called sys.exit" in done.stderr
    done = cli("no_such_scene", "-o", "out")
    assert done.returncode == 2 and "no_such_scene: scene file not found" in done.stderr and "--list" in done.stderr


def test_list_names_every_shipped_scene_with_one_line(cli):
    from lossfilm import shipped

    done = cli("--list")
    assert done.returncode == 0 and done.stderr == ""
    rows = done.stdout.strip().splitlines()
    assert [r.split()[0] for r in rows] == shipped.names() and len(rows) >= 19
    assert all(len(r.split(maxsplit=1)) == 2 and len(r) <= 124 for r in rows)
    assert any(r.startswith("rosenbrock_race ") and "Rosenbrock" in r for r in rows)


def test_init_writes_a_starter_scene_that_renders_as_written(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    done = cli("init", "first.py")
    assert done.returncode == 0 and "first.py" in done.stderr
    text = (tmp_path / "first.py").read_text()
    assert 'name="first"' in text and "PCAPlane()" in text and text.count("Run(") == 2
    done = cli("first.py", "-q", "low", "--fps", "4", "--duration", "1", "--format", "npz", "--json", "-o", "out",
               "--cache-dir", "cache")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert [r["label"] for r in report["runs"]] == ["SGD", "Adam"]
    again = cli("init", "first.py")
    assert again.returncode == 2 and "already there" in again.stderr


def test_a_reader_that_leaves_early_gets_no_error(tmp_path):
    """``lossfilm --list | head -1``: the pipe closes under the listing; no 'error: BrokenPipeError' line."""
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, str(ROOT / "render.py"), "--list"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    p.stdout.readline()
    p.stdout.close()
    _, err = p.communicate(timeout=60)
    assert "Error" not in err and "error" not in err, err
