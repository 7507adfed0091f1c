"""A signal delivered once more, a moment later: for the unraisable hooks, when a SIGTERM landed in a
finaliser (a Popen's __del__ during garbage collection), which cannot unwind from there."""
from __future__ import annotations

import signal
import threading

DELAY = 0.005  # seconds: the hook has long returned by then


def deliver_again(signum: int) -> None:
    """Send ``signum`` again once the hook that calls this has returned. Raised at once, the signal's
    handler would run inside the hook itself, and its exception unwind the hook instead: Python prints
    "Exception ignored in sys.unraisablehook" and carries on. A timer thread raises it a moment later;
    Python runs the handler on the main thread, in whatever code runs next (should that be another
    finaliser, its hook sends it again). No process-wide timer or handler (SIGALRM, ITIMER_REAL) is
    taken from the program. Where no thread can start (the interpreter is shutting down), at once."""
    timer = threading.Timer(DELAY, signal.raise_signal, (signum,))
    timer.daemon = True
    try:
        timer.start()
    except RuntimeError:
        signal.raise_signal(signum)
