"""Where work runs: inline, in a local pool of processes, or on a Dask cluster, behind the same few calls:
``start`` hands a function and its tasks to the workers and returns at once (so the caller can prepare
the next piece of work meanwhile), ``Pending.wait`` collects the results in order, ``run`` is the two
together, ``map_shared`` sends one large argument once for many tasks, ``map_rows`` cuts a shared job's
rows into tasks where that pays, and ``abort`` stops everything. No rendering logic here."""
from __future__ import annotations

import ctypes
import importlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from typing import Callable, Sequence

from .redeliver import deliver_again


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


class Pending:
    """Tasks handed to the workers; ``wait(done)`` returns their results in task order, calling ``done()``
    as each one finishes."""

    def __init__(self, results: Callable[[Callable[[], None] | None], list]):
        self._results = results

    def wait(self, done: Callable[[], None] | None = None) -> list:
        return self._results(done)


class _Executor(_Managed):
    def run(self, fn: Callable, tasks: Sequence, done: Callable[[], None] | None = None) -> list:
        """``[fn(t) for t in tasks]`` on the workers, in order; ``done()`` after each task finishes."""
        return self.start(fn, tasks).wait(done)

    def map_shared(self, fn: Callable, shared, tasks: Sequence) -> list:
        """``[fn(shared, t) for t in tasks]``: here, in this process (a local pool would copy ``shared``
        to a worker with every task, for work this process does as fast with its own threads)."""
        return [fn(shared, t) for t in tasks]

    def map_rows(self, fn: Callable, shared, rows: int, progress: Callable[[int], None] | None = None) -> list:
        """Parts of ``fn(shared, (start, stop), progress)`` covering rows 0..rows, in order: here, in one
        call (``fn`` reports its own progress)."""
        return [fn(shared, (0, rows), progress)] if rows else []


def _in_order(iterator, done) -> list:
    results = []
    for r in iterator:
        results.append(r)
        if done:
            done()
    return results


class Inline(_Executor):
    """Tasks one after another in this process, when they are waited for (the same interface as
    LocalProcesses, for tests and for executors that wrap it)."""

    workers = 1
    remote = False

    def start(self, fn: Callable, tasks: Sequence) -> Pending:
        return Pending(lambda done: _in_order(map(fn, tasks), done))

    def abort(self) -> None:
        pass

    def close(self) -> None:
        pass


class LocalProcesses(_Executor):
    """A pool of worker processes started by a fork server: workers never inherit our open ffmpeg pipes
    (a forked child holding a pipe's write end keeps ffmpeg from ever seeing EOF), and each worker keeps
    what it builds (a figure) between tasks."""

    remote = False

    def __init__(self, workers: int):
        self.workers = workers
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        restore = _preloading_fork_server(context) if method == "forkserver" else (lambda: None)
        # Starting the fork server and its workers blocks for a while: done on a thread, so that the
        # caller loads its scenes and numbers meanwhile; the first task waits for it.
        self._made: list = []

        def make():
            try:
                self._made.append(context.Pool(workers, initializer=_worker_init))
            finally:  # the server has read both by now: the caller's process is left as it was
                restore()

        self._maker = threading.Thread(target=make, name="lossfilm-pool-start", daemon=True)
        self._maker.start()

    @property
    def _pool(self):
        self._maker.join()
        if not self._made:
            raise RuntimeError("the worker pool could not be started")
        return self._made[0]

    def start(self, fn: Callable, tasks: Sequence) -> Pending:
        # imap hands the tasks to the workers now, from the pool's own thread; we read results later.
        results = self._pool.imap(fn, tasks, chunksize=1)
        return Pending(lambda done: _in_order(results, done))

    ABORT_GRACE_S = 5.0

    def abort(self) -> None:
        # terminate() SIGTERMs the workers and joins them. A worker still starting when the render
        # failed (a bad scene file is found within milliseconds) was once seen to outlive its SIGTERM and
        # hang the join forever, so the join gets a deadline, after which the workers are killed.
        self._maker.join(self.ABORT_GRACE_S)
        if not self._made:
            return
        pool = self._made[0]
        stopper = threading.Thread(target=pool.terminate, daemon=True)
        stopper.start()
        stopper.join(self.ABORT_GRACE_S)
        if stopper.is_alive():
            for process in list(getattr(pool, "_pool", [])):
                if process.is_alive():
                    process.kill()
            stopper.join(self.ABORT_GRACE_S)

    def close(self) -> None:
        self._pool.close()
        self._pool.join()


class DaskCluster(_Executor):
    """Tasks on a Dask cluster (``distributed``): imported only when asked for. Workers share no file
    system with us, so what a task makes comes back as bytes (``remote``). A worker that dies has its
    tasks rescheduled by the scheduler; a task that fails is retried twice."""

    remote = True

    def __init__(self, address):
        from ..errors import BadInput

        try:
            from distributed import Client
        except ImportError:
            raise BadInput("--scheduler: expected Dask to be installed (pip install -r requirements-dask.txt)") from None
        self._own = not isinstance(address, Client)
        if self._own:
            _check_address(address)
        try:
            self.client = Client(address, set_as_default=False, timeout="10s") if self._own else address
        except (OSError, TimeoutError, ValueError) as exc:
            raise BadInput(f"--scheduler {address}: expected a reachable Dask scheduler ({exc})") from None
        shown = address if self._own else self.client.scheduler.address
        try:
            from .shipping import ship

            ship(self.client, shown)  # the cluster needs only the requirements, not this checkout
            self.workers = max(1, sum(self.client.nthreads().values()))
        except BaseException:
            self.close()
            raise
        self._futures: list = []

    def start(self, fn: Callable, tasks: Sequence) -> Pending:
        return self._pending(self.client.map(fn, list(tasks), pure=False, retries=2))

    # Rows that this process gets through in less than this stay here: shipping the job and scheduling
    # the tasks would cost more than they save (the article's whole grid takes 20 ms).
    MIN_SECONDS = 2.0

    def map_rows(self, fn: Callable, shared, rows: int, progress: Callable[[int], None] | None = None) -> list:
        """The first row here, timed; the rest as row-range tasks (a few per worker, so a slow or lost
        worker costs little) when they would take a while here, else here too."""
        if rows < 2:
            return super().map_rows(fn, shared, rows, progress)
        t = time.perf_counter()
        first = fn(shared, (0, 1), progress)
        if (time.perf_counter() - t) * (rows - 1) < self.MIN_SECONDS:
            return [first, fn(shared, (1, rows), progress)]
        ranges = [(1 + a, 1 + b) for a, b in split(rows - 1, 4 * max(1, self.workers))]
        parts = self.map_shared(fn, shared, ranges)
        if progress:
            progress(sum(p.size for p in parts))
        return [first, *parts]

    def map_shared(self, fn: Callable, shared, tasks: Sequence) -> list:
        """``[fn(shared, t) for t in tasks]`` on the cluster, ``shared`` sent to each worker once."""
        [handle] = self.client.scatter([shared], broadcast=True, hash=False)
        try:
            futures = self.client.map(fn, [handle] * len(tasks), list(tasks), pure=False, retries=2)
            return self._pending(futures).wait()
        finally:
            self.client.cancel([handle])

    def _pending(self, futures: list) -> Pending:
        self._futures += futures

        def results(done):
            from distributed import as_completed

            for _ in as_completed(futures, loop=self.client.loop):
                if done:
                    done()
            values = self.client.gather(futures)
            keys = {f.key for f in futures}
            self._futures = [f for f in self._futures if f.key not in keys]
            return values

        return Pending(results)

    def abort(self) -> None:
        if self._futures:
            self.client.cancel(self._futures)
        self.close()

    def close(self) -> None:
        if self._own:
            self.client.close()


def _check_address(address) -> None:
    """A scheduler address Dask can parse (``tcp://HOST:PORT``), told before any connection is tried."""
    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port

    from ..errors import BadInput

    try:
        scheme, location = parse_address(str(address))
        host, port = parse_host_port(location) if scheme in ("tcp", "tls") else (None, None)
    except (ValueError, TypeError):
        raise BadInput(f"--scheduler {address}: expected a scheduler address such as tcp://HOST:8786") from None
    if host is not None and port:
        # A refused connection is told at once: Dask's client would retry it until its 10 s timeout.
        import socket

        try:
            socket.create_connection((host, port), timeout=3).close()
        except ConnectionRefusedError as exc:
            raise BadInput(f"--scheduler {address}: expected a reachable Dask scheduler ({exc.strerror})") from None
        except OSError:
            pass  # a slow or filtered network: the client's own timeout decides


def _stop(signum, frame):
    raise SystemExit(128 + signum)


def _quiet_unraisable(args) -> None:
    """A SIGTERM that lands in a finaliser (a Popen's __del__ during garbage collection) cannot unwind
    from there: Python would print "Exception ignored in ..." and carry on as if it never came. Say
    nothing, and deliver the signal again, so the worker stops once the finaliser has returned."""
    if isinstance(args.exc_value, SystemExit):
        deliver_again(signal.SIGTERM)
        return
    sys.__unraisablehook__(args)


def _preloading_fork_server(context) -> Callable[[], None]:
    """Have the fork server (when this pool starts it) import the painter once for every worker, and
    return what puts the caller's process back as it was: the server's preload list and PYTHONPATH are
    process-wide, and a library user's later processes (their own fork server's ``'__main__'``, their
    own children's PYTHONPATH) must not inherit ours.

    lossfilm's folder goes on PYTHONPATH for the server, a fresh ``python -c``: Python 3.11's server
    ignores the sys.path it is handed, so from any folder but the checkout its preload failed silently
    and each worker imported matplotlib and the painter itself (0.5 s of CPU per worker, on the cores
    the scene's own loading needs; renders 3 % slower)."""
    from multiprocessing import forkserver

    preload = list(getattr(forkserver._forkserver, "_preload_modules", ["__main__"]))
    pythonpath = os.environ.get("PYTHONPATH")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # above lossfilm/
    paths = [p for p in (pythonpath or "").split(os.pathsep) if p]
    if root not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([root, *paths])
    context.set_forkserver_preload(["lossfilm.output.segments", "lossfilm.paint.painter"])

    def restore() -> None:
        context.set_forkserver_preload(preload)
        if pythonpath is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = pythonpath

    return restore


def _worker_init() -> None:
    # terminate() sends SIGTERM: unwind like an exception, so the task's clean-up stops its ffmpeg and
    # removes its temporary file, instead of dying and leaving ffmpeg to finish an orphaned file.
    signal.signal(signal.SIGTERM, _stop)
    sys.unraisablehook = _quiet_unraisable
    # Ctrl-C in a terminal reaches the whole process group: the render itself answers it (and stops us
    # with SIGTERM), so a worker leaves quietly instead of printing a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # If the render is killed outright (SIGKILL), its fork server exits and the kernel sends us SIGTERM:
    # a worker never outlives its render and never publishes a segment after the next render cleaned up.
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    # Import the painter now, while the parent is still loading or computing the landscape.
    importlib.import_module("lossfilm.output.segments")
    importlib.import_module("lossfilm.paint.painter")


def tune_process() -> None:
    """For a process lossfilm owns (the command line): serve temporaries of up to 32 MB from the heap
    and keep freed memory for reuse (glibc only). Never done on import or by the library: the allocator
    of a notebook or a user's script is theirs.

    By default glibc maps every large block fresh from the kernel and unmaps it on free; for the
    evaluator's chunk-sized temporaries the page faults then cost more than the arithmetic: the
    article's 80 x 80 grid took 80-115 ms that way and 15-22 ms with this, in the same run. (PyTorch's
    CPU tuning guide suggests jemalloc or tcmalloc for the same reason.) Peak memory is unchanged.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 * 2**20)  # M_MMAP_THRESHOLD (its upper limit on 64-bit)
        libc.mallopt(-1, 128 * 2**20)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass  # not glibc: the allocator is someone else's choice


def default_jobs() -> int:
    """Workers for ``-j`` when not given: one per core of the thread budget (lossfilm._plumbing.threads: the
    cores this process may use, less those other work is using now). Each worker paints on one core
    while its ffmpeg encodes on another; on an idle 2-core machine -j 2 took 0.84x the time of -j 1, on a
    busy one -j 1 took 0.88x the time of -j 2."""
    from .threads import budget

    return budget()


def local(jobs: int) -> Inline | LocalProcesses:
    return Inline() if jobs <= 1 else LocalProcesses(jobs)


def split(frames: int, parts: int) -> list[tuple[int, int]]:
    """Contiguous, near-equal frame ranges [start, stop) covering 0..frames."""
    parts = max(1, min(parts, frames))
    edges = [round(frames * k / parts) for k in range(parts + 1)]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]
