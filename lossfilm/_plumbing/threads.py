"""The thread budget: how many cores this render may keep busy, sized from what the process may use (CPU
affinity, a cgroup's CPU quota) less what other work is running right now, at the start of each stage.
torch's intra-op threads, the C kernel's threads and the number of painting workers all follow it. On a
shared 2-core machine with other work running, torch's two OpenMP threads (spinning while they wait for
each other) made the compute stage 7-20x slower than one (FIELD_NOTES); with the budget a busy machine
gets one thread, so no thread waits on a core it does not have. (OMP_WAIT_POLICY=PASSIVE was measured
too: it cost the idle machine 2x on the spirals scene, a futex wake per small parallel region.)

Nothing here imports torch; ``torch_threads`` does, when the compute stage asks for it.
"""
from __future__ import annotations

import contextlib
import math
import os
import time
from pathlib import Path


def cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup CPU quota if there is one."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(n, math.ceil(quota))) if quota else max(1, n)


def _cgroup_quota() -> float | None:
    """CPUs granted by the cgroup (v2 cpu.max, or v1 cfs quota / period), None when unlimited."""
    try:
        text = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if text and text[0] != "max":
            return int(text[0]) / int(text[1])
    except (OSError, ValueError, IndexError):
        pass
    try:
        quota = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        period = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        if quota > 0 and period > 0:
            return quota / period
    except (OSError, ValueError):
        pass
    return None


def others_running(samples: int = 5, interval: float = 0.01) -> int:
    """Other processes running or waiting for a core right now: the run queue of /proc/loadavg (less
    this process, which is running while it reads), the median of a few samples. The load average itself
    lags a minute behind: work that started seconds ago must count."""
    counts = []
    for k in range(samples):
        try:
            running = int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return 0
        counts.append(max(0, running - 1))
        if k + 1 < samples:
            time.sleep(interval)
    return sorted(counts)[len(counts) // 2]


def budget() -> int:
    """Cores this render may keep busy now: at least one, at most ``cores()``. ``LOSSFILM_THREADS``
    overrides it."""
    forced = os.environ.get("LOSSFILM_THREADS")
    if forced:
        try:
            return max(1, int(forced))
        except ValueError:
            pass
    n = cores()
    return max(1, min(n, n - others_running()))


@contextlib.contextmanager
def torch_threads(n: int):
    """torch's intra-op threads set to ``n`` for the block, then as they were."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, n))
    try:
        yield
    finally:
        torch.set_num_threads(before)
