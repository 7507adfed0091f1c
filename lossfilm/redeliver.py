"""A signal delivered once more, a moment later: for the unraisable hooks, when a SIGTERM landed in a
finaliser (a Popen's __del__ during garbage collection), which cannot unwind from there."""
from __future__ import annotations

import signal
import threading

DELAY = 0.005  # seconds: the hook has long returned by then


def deliver_again(signum: int) -> None:
    """Run ``signum``'s handler again once the hook that calls this has returned. Raised at once, the
    signal's handler would run inside the hook itself, and its exception unwind the hook instead:
    Python prints "Exception ignored in sys.unraisablehook" and carries on. A timer's SIGALRM calls it
    in whatever code runs next; should that be another finaliser, its hook arms the timer again."""
    handler = signal.getsignal(signum)
    if not callable(handler) or threading.current_thread() is not threading.main_thread():
        signal.raise_signal(signum)
        return
    signal.signal(signal.SIGALRM, lambda _alarm, frame: handler(signum, frame))
    signal.setitimer(signal.ITIMER_REAL, DELAY)
