"""Run a command and measure it whole: wall seconds and the peak of the summed RSS of its process
tree (workers, forkserver children and ffmpeg included: this process becomes a child subreaper, so a
grandchild whose parent exits is still ours and still counted)."""
from __future__ import annotations

import ctypes
import os
import subprocess
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36


def _become_subreaper() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _tree_rss(root: int) -> int:
    """Summed RSS in bytes of ``root`` and all its descendants."""
    parents: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            pid, ppid = int(d.name), int(fields[1])
            rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
            parents.setdefault(ppid, []).append(pid)
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += parents.get(pid, [])
    return total


def _tree_rss_of_self() -> int:
    fields = Path("/proc/self/stat").read_text()
    fields = fields[fields.rindex(")") + 2:].split()
    return int(fields[21]) * os.sysconf("SC_PAGE_SIZE")


def measure(cmd: list[str], cwd=None, env=None, poll: float = 0.02) -> dict:
    """{"seconds", "peak_mb", "returncode"} of one run of ``cmd``."""
    _become_subreaper()
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:  # our whole tree, less ourselves: orphaned grandchildren are ours now
        peak = max(peak, _tree_rss(os.getpid()) - _tree_rss_of_self())
        time.sleep(poll)
    seconds = time.perf_counter() - t
    err = proc.stderr.read().decode(errors="replace")
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err[-2000:]}")
    return {"seconds": seconds, "peak_mb": peak / 2**20, "returncode": proc.returncode}


def load() -> str:
    """The machine's load average and run queue, to print beside the numbers."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:4])
