"""Rendering on a Dask cluster: a real `dask scheduler` and `dask worker` processes on 127.0.0.1, started
as the README tells users to, in a folder outside the project and without PYTHONPATH: the cluster has
the requirements but not this checkout, and the client ships lossfilm to it."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import imageio_ffmpeg
import matplotlib.image
import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask_command() -> str:
    return shutil.which("dask") or str(Path(sys.executable).with_name("dask"))


@pytest.fixture(scope="module")
def outside(tmp_path_factory):
    """A folder outside the project and an environment without PYTHONPATH: where the cluster runs."""
    home = tmp_path_factory.mktemp("cluster-home")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return home, env


@pytest.fixture(scope="module")
def cluster(outside):
    home, env = outside
    address = f"tcp://127.0.0.1:{_free_port()}"
    logs = open(home / "cluster.log", "w")
    procs = [subprocess.Popen([_dask_command(), "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                               "--no-dashboard"], cwd=home, env=env, stdout=logs, stderr=logs)]
    try:
        client = None
        deadline = time.time() + 60
        while client is None:
            try:
                client = distributed.Client(address, timeout="2s", set_as_default=False)
            except OSError:
                assert time.time() < deadline and procs[0].poll() is None, (home / "cluster.log").read_text()
        for _ in range(2):  # one `dask worker` per core, as the README says
            procs.append(subprocess.Popen([_dask_command(), "worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                                           "--no-dashboard"], cwd=home, env=env, stdout=logs, stderr=logs))
        client.wait_for_workers(2, timeout=90)
        yield address, client
        client.close()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        logs.close()


def test_the_cluster_cannot_import_lossfilm_by_itself_yet_renders(cluster, outside, tmp_path, cache_dir):
    """What a user with only the requirements on the cluster meets: the scheduler and the workers import
    the lossfilm the client sent them (before this, every render failed deserialising the task graph)."""
    home, env = outside
    alone = subprocess.run([sys.executable, "-c", "import lossfilm"], cwd=home, env=env, capture_output=True)
    if alone.returncode == 0:
        pytest.skip("lossfilm is installed in this Python: the cluster would not need it shipped")
    address, client = cluster
    p = cli("scenes/article.py", "-q", "low", "--fps", "8", "--duration", "2", "--format", "mp4", "--cache-dir",
            str(cache_dir), "--scheduler", address, "-o", str(tmp_path), "--json")
    assert p.returncode == 0, p.stderr
    where = client.run_on_scheduler(lambda: __import__("lossfilm").__file__)
    assert ".zip" in where  # the scheduler imports the shipped copy
    assert all(".zip" in f for f in client.run(lambda: __import__("lossfilm").__file__).values())
    assert len(decoded(tmp_path / "article.mp4")) == 16


def test_a_malformed_scheduler_address_is_one_line_of_bad_input(tmp_path):
    p = cli("-q", "low", "--scheduler", "notaurl", "-o", str(tmp_path))
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "--scheduler notaurl: expected a scheduler address such as tcp://HOST:8786" in p.stderr
    assert not any(tmp_path.iterdir())


def test_a_worker_without_the_requirements_is_told_in_one_line(cluster, monkeypatch):
    from lossfilm._plumbing import shipping
    from lossfilm.errors import BadInput
    from lossfilm._plumbing.executor import DaskCluster

    _, client = cluster
    monkeypatch.setattr(shipping, "WORKER_NEEDS", shipping.WORKER_NEEDS + ("a_module_no_worker_has",))
    with pytest.raises(BadInput) as caught:
        DaskCluster(client)
    message = str(caught.value)
    assert "cannot import a_module_no_worker_has" in message and "worker tcp://127.0.0.1:" in message
    assert "\n" not in message


def decoded(path):
    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    w, h = meta["size"]
    return [np.frombuffer(f, np.uint8).reshape(h, w, 3).astype(np.float64) for f in gen]


def close_films(a, b):
    fa, fb = decoded(a), decoded(b)
    assert len(fa) == len(fb)
    for x, y in zip(fa, fb):
        mse = ((x - y) ** 2).mean()
        assert mse == 0 or 10 * np.log10(255**2 / mse) > 38


def cli(*args):
    return subprocess.run([sys.executable, str(ROOT / "render.py"), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_a_cluster_render_matches_the_local_one(cluster, cache_dir, tmp_path, article_landscape):
    _, client = cluster
    common = ["scenes/article.py", "-q", "low", "--fps", "10", "--duration", "3", "--format", "mp4", "png",
              "--cache-dir", str(cache_dir), "--json"]
    remote = cli(*common, "--scheduler", client.scheduler.address, "-o", str(tmp_path / "remote"))
    assert remote.returncode == 0, remote.stderr
    local = cli(*common, "-j", "2", "-o", str(tmp_path / "local"))
    assert local.returncode == 0, local.stderr
    close_films(tmp_path / "remote" / "article.mp4", tmp_path / "local" / "article.mp4")
    np.testing.assert_array_equal(matplotlib.image.imread(tmp_path / "remote" / "article.png"),
                                  matplotlib.image.imread(tmp_path / "local" / "article.png"))
    assert sorted(p.name for p in (tmp_path / "remote").iterdir()) == ["article.mp4", "article.png"]


def test_without_scheduler_nothing_of_dask_is_imported(tmp_path):
    code = ("import sys; sys.path.insert(0, '.'); from lossfilm.cli import main; "
            f"main(['-q', 'low', '--duration', '0.5', '--format', 'png', '-o', r'{tmp_path}']); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_an_unreachable_scheduler_is_bad_input(tmp_path):
    proc = cli("-q", "low", "--scheduler", "tcp://127.0.0.1:9", "-o", str(tmp_path))
    assert proc.returncode == 2 and "--scheduler tcp://127.0.0.1:9" in proc.stderr


def test_a_worker_lost_mid_render_is_replaced_and_the_film_completes(cluster, article, cache_dir, tmp_path):
    from lossfilm._plumbing.executor import DaskCluster
    from lossfilm.studio import render

    _, client = cluster
    pids = client.run(os.getpid)
    executor = DaskCluster(client)
    done = {}

    def go():
        try:
            done["result"] = render(article, quality="low", formats=["mp4"], out=tmp_path / "remote", fps=15,
                                    duration=8, cache_dir=cache_dir, jobs=2, executor=executor)
        except BaseException as exc:  # shown by the assertion below
            done["error"] = exc

    thread = threading.Thread(target=go)
    thread.start()
    time.sleep(2.0)  # the workers are painting
    victim = next(iter(pids.values()))
    os.kill(victim, signal.SIGKILL)
    thread.join(timeout=240)
    assert not thread.is_alive() and "result" in done, done.get("error")
    # It really died and its nanny starts another; the scheduler may take a moment to hear of either.
    deadline = time.time() + 60
    while True:
        try:
            now = client.run(os.getpid)
            if victim not in now.values() and len(now) == 2:
                break
        except OSError:
            pass
        assert time.time() < deadline, "the killed worker was not replaced"
        time.sleep(0.5)
    local = render(article, quality="low", formats=["mp4"], out=tmp_path / "local", fps=15, duration=8,
                   cache_dir=cache_dir, jobs=2)
    close_films(done["result"].outputs["mp4"], local.outputs["mp4"])


SCENE_WITH_ITS_OWN_MODEL = '''
import torch
from torch import nn
from lossfilm import Grid, RandomPlane, Run, Scene, datasets


class Net(nn.Module):  # defined here, so no worker can import it: it must travel by value
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(2, 6), nn.Linear(6, 2)

    def forward(self, x):
        return self.b(torch.relu(self.a(x)))


scene = Scene(name="own_model", data=datasets.moons(n=120, seed=0), model=Net,
              runs=[Run(optimizer="adam", lr=0.05, epochs=3, batch_size=32)], plane=RandomPlane(seed=1),
              grid=Grid.around_paths(points=14), loss="cross_entropy", evaluate_on="train")
'''


def test_the_grid_is_evaluated_as_cluster_tasks_and_equals_the_local_grid(cluster, tmp_path, monkeypatch):
    from lossfilm.compute.build import compute
    from lossfilm._plumbing.executor import DaskCluster
    from lossfilm.scene.loader import load_scenes

    _, client = cluster
    f = tmp_path / "own_model.py"
    f.write_text(SCENE_WITH_ITS_OWN_MODEL)
    scene = load_scenes(f)[0]
    here = compute(scene)
    monkeypatch.setattr(DaskCluster, "MIN_SECONDS", 0.0)  # a tiny grid goes to the cluster too
    there = compute(scene, executor=DaskCluster(client))

    def jobs_seen():
        from lossfilm.compute import evaluate

        return [key.split("-")[0] for key in evaluate._evaluators]

    assert "own_model" in sum(client.run(jobs_seen).values(), [])  # the workers did the grid
    assert there.loss.shape == here.loss.shape == (14, 14)
    np.testing.assert_allclose(there.loss, here.loss, rtol=1e-6)
    for a, b in zip(here.traces, there.traces):
        np.testing.assert_allclose(a.alpha, b.alpha, rtol=1e-12, atol=1e-15)  # same training, same plane


def test_several_scenes_in_one_command_all_render_on_the_cluster(cluster, cache_dir, tmp_path):
    import json

    _, client = cluster
    files = []
    for name in ("first", "second"):
        f = tmp_path / f"{name}.py"
        f.write_text("import dataclasses\nfrom lossfilm.scene.loader import load_scenes\n"
                     f"_base = load_scenes(r'{ROOT / 'scenes' / 'article.py'}')[0]\n"
                     f"scene = dataclasses.replace(_base, name='{name}')\n")
        files.append(str(f))
    p = cli(*files, "-q", "low", "--fps", "10", "--duration", "2", "--format", "mp4", "--cache-dir",
            str(cache_dir), "--json", "--scheduler", client.scheduler.address, "-o", str(tmp_path / "out"))
    assert p.returncode == 0, p.stderr
    reports = [json.loads(line) for line in p.stdout.splitlines()]
    assert [r["scene"] for r in reports] == ["first", "second"]
    for r in reports:
        assert len(decoded(r["outputs"]["mp4"])) == 20
    assert sorted(x.name for x in (tmp_path / "out").iterdir()) == ["first.mp4", "second.mp4"]


def test_a_grid_quick_to_evaluate_here_is_not_sent_to_the_cluster(cluster, tmp_path):
    from lossfilm.compute.build import compute
    from lossfilm._plumbing.executor import DaskCluster
    from lossfilm.scene.loader import load_scenes

    _, client = cluster
    client.run(lambda: __import__("lossfilm.compute.evaluate").compute.evaluate._evaluators.clear())
    f = tmp_path / "own_model.py"
    f.write_text(SCENE_WITH_ITS_OWN_MODEL.replace('name="own_model"', 'name="quick"'))
    scene = load_scenes(f)[0]
    there = compute(scene, executor=DaskCluster(client))
    assert sum(client.run(lambda: len(__import__("lossfilm.compute.evaluate").compute.evaluate._evaluators)).values()) == 0
    np.testing.assert_allclose(there.loss, compute(scene).loss, rtol=1e-6)


def test_an_evolving_films_surfaces_are_cluster_tasks_and_equal_the_local_ones(cluster, tmp_path, monkeypatch):
    from lossfilm.compute.build import compute
    from lossfilm._plumbing.executor import DaskCluster
    from lossfilm.scene.loader import load_scenes

    _, client = cluster
    f = tmp_path / "own_model.py"
    f.write_text(SCENE_WITH_ITS_OWN_MODEL.replace("from lossfilm import", "from lossfilm import Evolve,")
                 .replace('name="own_model"', 'name="evolving", evolve=Evolve(surfaces=4)'))
    scene = load_scenes(f)[0]
    here = compute(scene)
    monkeypatch.setattr(DaskCluster, "MIN_SECONDS", 0.0)
    executor = DaskCluster(client)  # ships lossfilm to the workers
    client.run(lambda: __import__("lossfilm.compute.evaluate").compute.evaluate._evaluators.clear())
    there = compute(scene, executor=executor)
    assert "evolving" in sum(client.run(lambda: [k.split("-")[0] for k in
                                                  __import__("lossfilm.compute.evaluate").compute.evaluate._evaluators]).values(), [])
    assert there.surfaces.shape == here.surfaces.shape == (4, 14, 14)
    np.testing.assert_allclose(there.surfaces, here.surfaces, rtol=1e-6)


def test_a_comparison_renders_on_the_cluster(cluster, tmp_path):
    import json

    _, client = cluster
    f = tmp_path / "pair.py"
    f.write_text("from lossfilm import Compare, Run, Scene, surfaces\n"
                 "a = Scene(name='ca', surface=surfaces.booth(), start=(-5, 5), runs=[Run('adam', lr=0.3, steps=30)])\n"
                 "b = Scene(name='cb', surface=surfaces.booth(), start=(5, -5), runs=[Run('sgd', lr=0.02, steps=30)])\n"
                 "film = Compare([a, b], name='pair')\n")
    p = cli(str(f), "-q", "low", "--fps", "10", "--duration", "2", "--format", "mp4", "png", "--no-cache", "--json",
            "--scheduler", client.scheduler.address, "-o", str(tmp_path / "out"))
    assert p.returncode == 0, p.stderr
    [report] = [json.loads(line) for line in p.stdout.splitlines()]
    assert report["scene"] == "pair" and [r["scene"] for r in report["runs"]] == ["ca", "cb"]
    assert len(decoded(report["outputs"]["mp4"])) == 20
