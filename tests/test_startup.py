"""Quick to answer: bad options before torch or matplotlib's pyplot is imported, and a cache hit that
imports no torch at all (the article's scene names lossfilm's factories, which import torch only to build)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _in_a_fresh_process(args, tmp_path):
    code = ("import sys; from lossfilm.cli import main; status = main(%r); "
            "print(status, 'torch' in sys.modules, 'matplotlib.pyplot' in sys.modules, 'lossfilm.compute' in sys.modules)"
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
    from lossfilm import threads

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

    from lossfilm import compute as computing, threads

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
