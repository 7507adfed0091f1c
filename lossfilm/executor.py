"""Where work runs: inline, or in a local pool of processes. A cluster backend plugs in with the same
two calls (``run`` a function over tasks, in order; ``abort`` everything). No rendering logic here."""
from __future__ import annotations

import ctypes
import importlib
import multiprocessing
import os
import signal
import sys
from typing import Callable, Sequence


class _Managed:
    """``with executor:`` closes it after the work, or aborts it (stopping the workers) on any error."""

    def __enter__(self):
        return self

    def __exit__(self, kind, value, trace) -> bool:
        if kind is None:
            self.close()
        else:
            self.abort()
        return False


class Inline(_Managed):
    """Tasks one after another in this process (the same interface as LocalProcesses, for tests and
    for executors that wrap it)."""

    workers = 1
    remote = False

    def run(self, fn: Callable, tasks: Sequence, done: Callable[[], None] | None = None) -> list:
        results = []
        for t in tasks:
            results.append(fn(t))
            if done:
                done()
        return results

    def abort(self) -> None:
        pass

    def close(self) -> None:
        pass


class LocalProcesses(_Managed):
    """A pool of worker processes started by a fork server: workers never inherit our open ffmpeg pipes
    (a forked child holding a pipe's write end keeps ffmpeg from ever seeing EOF), and each worker keeps
    what it builds (a figure) between tasks."""

    remote = False

    def __init__(self, workers: int):
        self.workers = workers
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            # The server imports the painter once; every worker forks from it with it loaded.
            context.set_forkserver_preload(["lossfilm.segments"])
        self._pool = context.Pool(workers, initializer=_worker_init)

    def run(self, fn: Callable, tasks: Sequence, done: Callable[[], None] | None = None) -> list:
        """``[fn(t) for t in tasks]`` on the workers, in order; ``done()`` after each task finishes."""
        results = []
        for r in self._pool.imap(fn, tasks, chunksize=1):
            results.append(r)
            if done:
                done()
        return results

    def abort(self) -> None:
        self._pool.terminate()
        self._pool.join()

    def close(self) -> None:
        self._pool.close()
        self._pool.join()


class DaskCluster(_Managed):
    """Tasks on a Dask cluster (``distributed``): imported only when asked for. Workers share no file
    system with us, so what a task makes comes back as bytes (``remote``). A worker that dies has its
    tasks rescheduled by the scheduler; a task that fails is retried twice."""

    remote = True

    def __init__(self, address):
        try:
            from distributed import Client
        except ImportError:
            from .errors import BadInput

            raise BadInput("--scheduler: expected Dask to be installed (pip install -r requirements-dask.txt)") from None
        self._own = not isinstance(address, Client)
        try:
            self.client = Client(address, set_as_default=False, timeout="10s") if self._own else address
        except (OSError, TimeoutError) as exc:
            from .errors import BadInput

            raise BadInput(f"--scheduler {address}: expected a reachable Dask scheduler ({exc})") from None
        self.workers = max(1, sum(self.client.nthreads().values()))
        self._futures: list = []

    def run(self, fn: Callable, tasks: Sequence, done: Callable[[], None] | None = None) -> list:
        from distributed import as_completed

        self._futures = self.client.map(fn, list(tasks), pure=False, retries=2)
        for _ in as_completed(self._futures, loop=self.client.loop):
            if done:
                done()
        results = self.client.gather(self._futures)
        self._futures = []
        return results

    def abort(self) -> None:
        if self._futures:
            self.client.cancel(self._futures)
        self.close()

    def close(self) -> None:
        if self._own:
            self.client.close()


def _stop(signum, frame):
    raise SystemExit(128 + signum)


def _worker_init() -> None:
    # terminate() sends SIGTERM: unwind like an exception, so the task's clean-up stops its ffmpeg and
    # removes its temporary file, instead of dying and leaving ffmpeg to finish an orphaned file.
    signal.signal(signal.SIGTERM, _stop)
    # If the render is killed outright (SIGKILL), its fork server exits and the kernel sends us SIGTERM:
    # a worker never outlives its render and never publishes a segment after the next render cleaned up.
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    # Import the painter now, while the parent is still loading or computing the landscape.
    importlib.import_module("lossfilm.segments")


def default_jobs() -> int:
    """Workers for ``-j`` when not given: one per core. Each worker paints on one core while its ffmpeg
    encodes on another, and the two interleave; on 2 cores -j 2 took 0.84x the time of -j 1 (bench)."""
    return os.cpu_count() or 1


def local(jobs: int) -> Inline | LocalProcesses:
    return Inline() if jobs <= 1 else LocalProcesses(jobs)


def split(frames: int, parts: int) -> list[tuple[int, int]]:
    """Contiguous, near-equal frame ranges [start, stop) covering 0..frames."""
    parts = max(1, min(parts, frames))
    edges = [round(frames * k / parts) for k in range(parts + 1)]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]
