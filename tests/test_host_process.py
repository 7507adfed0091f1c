"""What lossfilm leaves behind in the process that runs it: the torch._dynamo stand-in, the worker pool's
fork server settings, the command's quick exit and the signal it delivers again. Each of these once
changed a user's process for good (a setting ignored, a profile never written, a log cut short)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str, cwd=ROOT, env=None, timeout=120) -> subprocess.CompletedProcess:
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_a_scene_that_sets_dynamo_config_sets_the_one_torch_reads():
    """``import torch._dynamo.config`` through the command line's stand-in runs that module once: the
    setting lands where the compiler reads it (it once went to a second copy of the module)."""
    p = _python("""
import sys
from lossfilm._plumbing import dynamo_stub
assert dynamo_stub.defer()
import torch
torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
import torch._dynamo.config
torch._dynamo.config.suppress_errors = True
import torch._dynamo.utils as utils
print(sys.modules["torch._dynamo.config"] is torch._dynamo.config,
      sys.modules["torch._dynamo.eval_frame"].config.suppress_errors,
      torch._dynamo is sys.modules["torch._dynamo"], torch._dynamo.utils is utils)
""")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["True"] * 4


def test_a_pool_leaves_pythonpath_and_the_fork_servers_preload_as_they_were(tmp_path):
    """A library user's process after a render with workers: its PYTHONPATH and the fork server's
    preload list (``['__main__']``) are its own again, for every process it starts later."""
    script = tmp_path / "user.py"
    script.write_text(f"""
import os, sys
sys.path.insert(0, {str(ROOT)!r})
from multiprocessing import forkserver
from lossfilm._plumbing.executor import LocalProcesses
if __name__ == "__main__":
    before = (os.environ.get("PYTHONPATH"), list(forkserver._forkserver._preload_modules))
    with LocalProcesses(2) as pool:
        assert pool.run(abs, [-3, -4]) == [3, 4]
    after = (os.environ.get("PYTHONPATH"), list(forkserver._forkserver._preload_modules))
    print(before == after, after[1])
""")
    for pythonpath in (None, "/somewhere/else"):
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        if pythonpath:
            env["PYTHONPATH"] = pythonpath
        p = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=120)
        assert p.returncode == 0, p.stderr
        assert p.stdout.split() == ["True", "['__main__']"]


def test_a_profiled_render_writes_its_profile(tmp_path):
    """``python -m cProfile -o FILE render.py …``: the quick exit steps aside, so the profile is written."""
    prof = tmp_path / "render.prof"
    p = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(prof), "render.py", "scenes/article.py",
                        "-q", "low", "--fps", "4", "--duration", "1", "--format", "npz", "-o", str(tmp_path / "out"),
                        "--cache-dir", str(tmp_path / "cache")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "out" / "article.npz").exists()
    assert prof.exists() and prof.stat().st_size > 1000
    import pstats

    assert pstats.Stats(str(prof)).total_calls > 0


def test_a_file_the_scene_left_open_keeps_what_was_written(tmp_path):
    """A scene that writes a log and never closes it: the quick exit flushes it as the teardown would."""
    log = tmp_path / "log.txt"
    scene = tmp_path / "logged.py"
    scene.write_text((ROOT / "scenes" / "article.py").read_text().replace('name="article"', 'name="logged"')
                     # held for the whole process, as a training callback or a model's logger holds it
                     + f"\nimport sys\nsys.scene_log = open({str(log)!r}, 'w')\nsys.scene_log.write('trained ' * 100)\n")
    p = subprocess.run([sys.executable, str(ROOT / "render.py"), str(scene), "-q", "low", "--fps", "4",
                        "--duration", "1", "--format", "npz", "-o", str(tmp_path / "out"),
                        "--cache-dir", str(tmp_path / "cache")], cwd=tmp_path, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    assert log.read_text() == "trained " * 100


def test_a_signal_delivered_again_takes_no_alarm_from_the_program():
    """The unraisable hooks send a SIGTERM again a moment later: the program's own SIGALRM handler and
    interval timer are left as they were."""
    from lossfilm._plumbing.redeliver import deliver_again

    got = []

    def mine(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, lambda s, f: got.append(s))
    previous_alarm = signal.signal(signal.SIGALRM, mine)
    signal.setitimer(signal.ITIMER_REAL, 100.0)
    try:
        deliver_again(signal.SIGTERM)
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.005)
        assert got == [signal.SIGTERM]
        assert signal.getsignal(signal.SIGALRM) is mine
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 90
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_alarm)
        signal.signal(signal.SIGTERM, previous)
