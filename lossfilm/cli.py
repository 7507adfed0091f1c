"""The command line: parse, load scenes, call the renderer, report. No rendering logic lives here.

Exit status: 0 rendered, 1 a render failed, 2 bad input, 130/143 interrupted (SIGINT/SIGTERM).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import threading
import traceback
import warnings
from pathlib import Path

from . import shipped
from .errors import BadInput, RenderError, SceneError, one_line
from ._plumbing.redeliver import deliver_again

# The article's scene: beside the package in a checkout, inside it when installed (pip install .).
DEFAULT_SCENE = shipped.folder() / "article.py"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other bad input
        raise BadInput(f"{self.prog}: {message} (see --help)")


def parser() -> argparse.ArgumentParser:
    # Only torch-free modules here: bad options and --help are answered before torch is imported.
    from .output.formats import FORMATS
    from .settings import DEVICES, QUALITIES, Options

    d = Options()

    p = _Parser(prog=Path(sys.argv[0]).name or "render.py", description="Render films of neural-network loss landscapes.",
                epilog="With no scene file, renders scenes/article.py. Outputs go to DIR/<scene name>.<format>. "
                       "'init FILE' writes a starter scene to FILE.")
    p.add_argument("scenes", nargs="*", metavar="SCENE_FILE",
                   help="scene files, or names of shipped scenes (see --list; default: the article's)")
    p.add_argument("--list", action="store_true", help="list the shipped scenes, one line each, and exit")
    p.add_argument("-q", "--quality", default=d.quality, choices=list(QUALITIES),
                   help="low 854x480@15, medium 1280x720@30 (default), high 1920x1080@60, 4k 3840x2160@60")
    p.add_argument("--format", nargs="+", default=list(d.formats), choices=list(FORMATS), metavar="FMT",
                   help=f"output formats, any of: {' '.join(FORMATS)} (default: {' '.join(d.formats)})")
    p.add_argument("--max-mb", type=_positive_float, default=d.max_mb, metavar="N",
                   help=f"keep the GIF under N MB (2^20 bytes each) by lowering fps, then width, then colours "
                        f"(default: {d.max_mb:g})")
    for fmt in FORMATS.values():  # each format's own options, from its row of the table
        for option in fmt.options:
            p.add_argument(option.flag(fmt), dest=f"option:{fmt.name}.{option.name}", choices=list(option.choices),
                           help=f"{fmt.name}: {option.help} (default: {option.default})")
    p.add_argument("--poster-at", type=_non_negative_float, metavar="SECONDS",
                   help="the moment the poster PNG shows (default: the last frame)")
    p.add_argument("--size", type=_size, metavar="WxH", help="frame size in pixels (overrides the preset)")
    p.add_argument("--fps", type=_positive_int, help="frames per second (overrides preset and scene)")
    p.add_argument("--duration", type=_positive_float, metavar="SECONDS", help="clip length (overrides the scene)")
    p.add_argument("-j", "--jobs", type=_positive_int, metavar="N",
                   help="worker processes painting frame ranges in parallel (default: one per core not busy "
                        "with other work)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="render on a Dask cluster, e.g. tcp://HOST:8786 (needs requirements-dask.txt)")
    p.add_argument("--device", choices=list(DEVICES),
                   help="where to evaluate the grid (default: the scene's, normally cpu); cuda without a GPU "
                        "warns and uses the CPU")
    p.add_argument("-o", "--output", default=str(d.out), metavar="DIR", help=f"output folder (default: {d.out})")
    p.add_argument("--cache-dir", default=str(d.cache_dir), metavar="DIR",
                   help=f"where computed landscapes are kept (default: {d.cache_dir}, whatever -o says)")
    p.add_argument("--no-cache", action="store_true", help="compute everything afresh; read and write no cache")
    p.add_argument("--json", action="store_true", help="print one JSON object per rendered scene on stdout")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _size(text: str) -> tuple[int, int]:
    from .settings import check_size

    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1080x1080, got {text!r}")
    try:
        return check_size(parts)
    except BadInput as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("size: ")) from None


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


class _Terminated(BaseException):
    pass


_stopping = threading.Event()  # set once a signal is ending this process


def _on_sigterm(signum, frame):
    _stopping.set()
    raise _Terminated()


def _quiet_when_stopping(previous):
    """A thread hook that stays silent once a signal ends the process: a SIGTERM to the whole process
    group also stops the pool's workers and its fork server, and the pool's own thread, replacing a
    worker, then fails to start one and would print a traceback beside the one word the CLI answers."""
    def hook(args):
        if not _stopping.is_set():
            previous(args)
    return hook


def _unraisable_when_stopping(previous):
    """A SIGTERM that lands in a finaliser (a Popen's __del__ during garbage collection) cannot unwind
    from there: Python would print "Exception ignored in ..." beside the one word the CLI answers, and
    carry on. Say nothing and deliver the signal again: it is answered once the finaliser returns."""
    def hook(args):
        if isinstance(args.exc_value, _Terminated):
            deliver_again(signal.SIGTERM)
        elif not _stopping.is_set():
            previous(args)
    return hook


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"warning: {one_line(message)}", file=sys.stderr)


def run() -> None:
    """The command (``python render.py``, or ``lossfilm`` after pip install .): main, then a quick exit.

    Once a render is over, the interpreter's own teardown (every module's objects freed, torch's
    C++ registries destroyed) cost 0.17-0.2 s of every command. By then every output is written and
    closed and every worker has stopped: the exit handlers run, the files a scene left open are
    flushed, the streams are flushed, and the process ends without the teardown. Where anything else may
    need the teardown it ends as usual: under a debugger, profiler or coverage tool, and whenever the
    process is not our own command (``python -m cProfile -o … render.py`` writes its profile after
    ``run`` returns)."""
    code = main()
    if not _ours_to_end():
        sys.exit(code)
    import atexit

    atexit._run_exitfuncs()
    _flush_open_files()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 1  # a closed or broken pipe: as Python's own exit would report it
    os._exit(code)


def _ours_to_end() -> bool:
    """True when nothing but our own command runs in this process: its main module is render.py or the
    ``lossfilm`` script (each calls this module's ``run``), and no tracer, profiler or coverage tool
    waits for the interpreter's teardown."""
    main_module = sys.modules.get("__main__")
    return (getattr(main_module, "run", None) is run and sys.gettrace() is None and sys.getprofile() is None
            and not sys.flags.dev_mode and "coverage" not in sys.modules)


def _flush_open_files() -> None:
    """Flush every file still open (a scene's log it never closed): the teardown would have, and
    os._exit drops what sits in their buffers. A pass over the collector's objects, 0.05 s."""
    import gc
    import io

    kinds = (io.TextIOWrapper, io.BufferedWriter, io.BufferedRandom)
    for obj in gc.get_objects():
        if issubclass(type(obj), kinds):  # the real type: isinstance would ask lazy objects for __class__
            try:
                if not obj.closed:
                    obj.flush()
            except (OSError, ValueError):
                pass


def main(argv: list[str] | None = None) -> int:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    _stopping.clear()
    previous = (signal.signal(signal.SIGTERM, _on_sigterm), warnings.showwarning, threading.excepthook,
                sys.unraisablehook)
    warnings.showwarning = _show_warning
    threading.excepthook = _quiet_when_stopping(previous[2])
    sys.unraisablehook = _unraisable_when_stopping(previous[3])
    try:
        return _main(argv)
    except BadInput as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 2
    except RenderError as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        _stopping.set()
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader left (lossfilm --list | head): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
        return 1
    except Exception as exc:  # a bug or an environment problem: one line, the traceback on request
        if debug:
            traceback.print_exc()
        print(f"error: {type(exc).__name__}: {one_line(exc)} (run with --debug for the traceback)", file=sys.stderr)
        return 1
    except _Terminated:
        print("terminated", file=sys.stderr)
        return 143
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        warnings.showwarning = previous[1]
        if not _stopping.is_set():  # a stopping process keeps them to the end: the pool's threads outlive main()
            threading.excepthook = previous[2]
            sys.unraisablehook = previous[3]


def _init(rest: list[str]) -> int:
    """``init FILE``: a commented starter scene, written where asked."""
    if len(rest) != 1 or rest[0].startswith("-"):
        raise BadInput("init: expected one file name for the new scene, e.g. lossfilm init my_scene.py")
    path = shipped.write_starter(Path(rest[0]))
    print(f"wrote {path}: render it with `lossfilm {path}` (or python render.py {path})", file=sys.stderr)
    return 0


def _format_options(args) -> dict[str, dict[str, str]]:
    """The format options given on the command line, {format: {option: value}}."""
    given: dict[str, dict[str, str]] = {}
    for dest, value in vars(args).items():
        if dest.startswith("option:") and value is not None:
            fmt, _, name = dest[len("option:"):].partition(".")
            given.setdefault(fmt, {})[name] = value
    return given


def _main(argv: list[str] | None) -> int:
    from .settings import Options

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["init"]:
        return _init(argv[1:])
    args = parser().parse_args(argv)
    if args.list:
        width = max(map(len, shipped.names()))
        for name, line in shipped.described():
            print(f"{name:<{width}}  {line}")
        return 0
    options = Options(quality=args.quality, formats=args.format, out=args.output, fps=args.fps,
                      duration=args.duration, size=args.size, max_mb=args.max_mb, poster_at=args.poster_at,
                      device=args.device, use_cache=not args.no_cache, cache_dir=args.cache_dir,
                      format_options=_format_options(args)).check()
    from ._plumbing.executor import default_jobs, local, tune_process
    from .scene.loader import load_scenes
    from .studio import check_output_dir

    tune_process()  # this process is ours: the allocator may be tuned for the evaluator
    from ._plumbing.dynamo_stub import defer

    defer()  # and torch.optim need not import the compiler (1.1 s) unless a scene compiles
    files = [shipped.resolve(f) for f in args.scenes] or [str(DEFAULT_SCENE)]
    if args.scheduler:
        from ._plumbing.executor import DaskCluster

        pool = DaskCluster(args.scheduler)
        workers = args.jobs or pool.workers
    else:
        workers = args.jobs or default_jobs()
        # One set of workers for every scene, started first so that they boot while the scenes load.
        pool = local(workers)
    with pool:
        # Read every scene before rendering any: a typo in the last file should not cost the first render.
        work = [(f, s) for f in files for s in load_scenes(f)]
        check_output_dir(Path(args.output))
        progress = sys.stderr.isatty() and not args.json
        options = dataclasses.replace(options, jobs=workers, progress=progress)
        return _render_all(args, work, options, pool)


def _render_all(args, work, options, pool) -> int:
    from .studio import render_many

    sources = {id(scene): source for source, scene in work}
    failed = 0
    try:
        for scene, result in render_many([scene for _, scene in work], pool, options):
            if isinstance(result, Exception):
                if args.debug:
                    traceback.print_exception(result)
                print(f"error: {sources[id(scene)]}: {scene.name}: {one_line(result)}", file=sys.stderr)
                failed += 1
                continue
            for note in result.notes:
                print(f"note: {scene.name}: {note}", file=sys.stderr)
            if args.json:
                print(json.dumps(result.as_json()), flush=True)
            else:
                made = ", ".join(result.outputs.values())
                s = result.seconds
                print(f"{scene.name}: {made}  ({result.frames} frames, {s['total']:.1f} s; cache {result.cache})",
                      file=sys.stderr)
    except SceneError as exc:
        scene = getattr(exc, "scene", None)
        where = f"{sources[id(scene)]} (scene {scene.name!r})" if scene is not None else ""
        raise exc.at(where) if where else exc from None
    except BadInput as exc:
        scene, other = getattr(exc, "scene", None), getattr(exc, "other", None)
        if scene is None:
            raise
        also = f" (the other: {sources[id(other)]})" if other is not None else ""
        raise BadInput(f"{sources[id(scene)]} (scene {scene.name!r}): {exc}{also}") from None
    return 1 if failed else 0
