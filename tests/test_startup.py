"""Quick to answer: bad options before torch or matplotlib's pyplot is imported, and a cache hit that
imports no torch at all (the article's scene names lossfilm's factories, which import torch only to build)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _in_a_fresh_process(args, tmp_path):
    code = ("import sys; from lossfilm.cli import main; status = main(%r); "
            "print(status, 'torch' in sys.modules, 'matplotlib.pyplot' in sys.modules, 'lossfilm.compute.build' in sys.modules)"
            % (args,))
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return p.stdout.split()[-4:], p.stderr


def test_bad_options_and_help_are_answered_without_torch(tmp_path):
    for args in (["--fps", "0"], ["--size", "3x3"], ["--duration", "-1"], ["-q", "ultra"], ["--format", "avi"]):
        (status, torch, pyplot, _), err = _in_a_fresh_process(args, tmp_path)
        assert status == "2" and torch == "False" and pyplot == "False", (args, err)
    p = subprocess.run([sys.executable, "-X", "importtime", str(ROOT / "render.py"), "--help"], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0 and "usage:" in p.stdout
    assert not any(line.rstrip().endswith("| torch") for line in p.stderr.splitlines())


def test_a_cache_hit_imports_no_torch(tmp_path):
    common = ["scenes/article.py", "-q", "low", "--fps", "4", "--duration", "1", "--format", "png", "-o",
              str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")]
    (status, torch, _, _), err = _in_a_fresh_process(common, tmp_path)
    assert status == "0" and torch == "True", err  # the first time it computes
    (status, torch, _, computed), err = _in_a_fresh_process(common, tmp_path)
    assert status == "0" and torch == "False" and computed == "False", err


def test_the_thread_budget_leaves_cores_to_other_work(monkeypatch):
    from lossfilm._plumbing import threads

    real = threads.others_running
    monkeypatch.delenv("LOSSFILM_THREADS", raising=False)
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda _: {0, 1, 2, 3})
    monkeypatch.setattr(threads, "_cgroup_quota", lambda: None)
    monkeypatch.setattr(threads, "others_running", lambda: 0)
    assert threads.cores() == 4 and threads.budget() == 4
    monkeypatch.setattr(threads, "others_running", lambda: 3)
    assert threads.budget() == 1
    monkeypatch.setattr(threads, "others_running", lambda: 9)  # never below one
    assert threads.budget() == 1
    monkeypatch.setattr(threads, "_cgroup_quota", lambda: 1.5)  # a container granted 1.5 CPUs
    assert threads.cores() == 2
    monkeypatch.setenv("LOSSFILM_THREADS", "3")
    assert threads.budget() == 3
    assert real(samples=2, interval=0) >= 0


def test_compute_uses_the_budget_and_restores_torchs_threads(monkeypatch, article):
    import torch

    from lossfilm.compute import build as computing
    from lossfilm._plumbing import threads

    seen = []
    monkeypatch.setattr(threads, "budget", lambda: 1)
    original = computing.train
    monkeypatch.setattr(computing, "train", lambda *a: seen.append(torch.get_num_threads()) or original(*a))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        computing.compute(article)
        assert seen == [1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_training_does_not_import_the_compiler_and_a_scene_that_compiles_still_can(tmp_path):
    """The command line defers torch._dynamo (1.1 s to import): optimizers train without it, exactly as
    with it; the first use of anything else of it (torch.compile) imports the real one."""
    code = """
import sys
from lossfilm._plumbing import dynamo_stub
assert dynamo_stub.defer()
import torch
def train(opt_class, **kw):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    opt = opt_class(model.parameters(), lr=0.05, **kw)
    x, y = torch.randn(32, 3), torch.randn(32, 1)
    for _ in range(20):
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()
    opt.load_state_dict(opt.state_dict())
    return torch.cat([p.detach().ravel() for p in model.parameters()])
before = [train(torch.optim.Adam), train(torch.optim.SGD, momentum=0.9), train(torch.optim.NAdam)]
print("deferred", type(sys.modules["torch._dynamo"]).__name__ == "_Deferred")
f = torch.compile(lambda t: torch.sin(2 * t), backend="eager")
print("compiled", bool(torch.allclose(f(torch.ones(4)), torch.sin(torch.full((4,), 2.0)))))
print("real", type(sys.modules["torch._dynamo"]).__name__ == "module", torch._dynamo is sys.modules["torch._dynamo"])
after = [train(torch.optim.Adam), train(torch.optim.SGD, momentum=0.9), train(torch.optim.NAdam)]
print("same", all(torch.equal(a, b) for a, b in zip(before, after)))
"""
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["deferred", "True", "compiled", "True", "real", "True", "True", "same", "True"]


def test_the_command_line_trains_without_the_compiler(tmp_path):
    code = ("import sys; from lossfilm.cli import main; status = main(%r); "
            "print(status, type(sys.modules.get('torch._dynamo')).__name__)"
            % (["scenes/rosenbrock_race.py", "-q", "low", "--fps", "4", "--duration", "1", "--format", "png",
                "-o", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")],))
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split()[-2:] == ["0", "_Deferred"], p.stderr


def test_the_command_ends_without_the_interpreters_teardown_yet_runs_its_exit_handlers(tmp_path):
    """render.py's run() ends with os._exit once the render is over (the teardown of torch's modules
    cost 0.2 s): the exit handlers still run, the piped --json line arrives whole, the status is
    main's, and a render that made its workers leaves none behind."""
    if not Path("/proc/self/environ").exists():
        pytest.skip("needs /proc")
    marker = tmp_path / "atexit-ran"
    code = ("import atexit, sys; atexit.register(lambda: open(%r, 'w').write('yes')); "
            "sys.argv = ['render.py'] + %r; from lossfilm.cli import run; run()")
    args = ["scenes/article.py", "-q", "low", "--fps", "4", "--duration", "1", "--format", "npz", "-j", "2",
            "--json", "-o", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")]
    import json
    import os
    import time
    import uuid

    mark = f"LOSSFILM_TEST_MARK={uuid.uuid4()}"
    env = dict(os.environ, LOSSFILM_TEST_MARK=mark.split("=")[1])
    p = subprocess.run([sys.executable, "-c", code % (str(marker), args)], cwd=ROOT, capture_output=True,
                       text=True, timeout=300, env=env)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1])["frames"] == 4
    assert marker.read_text() == "yes"

    def left_behind():  # our processes that carry the mark: the render's fork server and workers
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if mark.encode() in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                    found.append(pid)
            except OSError:
                pass
        return found

    deadline = time.monotonic() + 10
    while left_behind() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left_behind()
    p = subprocess.run([sys.executable, "-c", code % (str(marker), ["--fps", "0"])], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 2 and "fps" in p.stderr


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads the fork server's memory map")
def test_the_fork_server_preloads_the_painter_from_any_folder(tmp_path):
    """Run from a folder outside the checkout, the pool's fork server still imports the painter once
    for every worker (Python 3.11's server ignores the sys.path it is given; lossfilm's folder goes on
    PYTHONPATH): matplotlib's Agg renderer is mapped into the server itself."""
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
            "import multiprocessing.forkserver as fs\n"
            "from lossfilm._plumbing.executor import LocalProcesses\n"
            "with LocalProcesses(1) as pool:\n"
            "    pool._pool\n"
            "    maps = open(f'/proc/{fs._forkserver._forkserver_pid}/maps').read()\n"
            "print('agg' if '_backend_agg' in maps else 'bare')\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "agg"
