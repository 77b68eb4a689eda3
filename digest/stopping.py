"""SIGTERM and Ctrl-C as a request to stop cleanly: finish the message in flight, then return."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def stop_on_signals(announce: Callable[[str], None]) -> Iterator[threading.Event]:
    """An event set by SIGTERM or SIGINT while the block runs; the old handlers come back after.

    Signal handlers can only be installed from the main thread; elsewhere the event is simply
    never set by a signal.
    """
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        first = not stop.is_set()
        # Set before announcing: writing the line lets other threads run, and one that saw the
        # announcement's effect (the message in flight accepted) must also see the stop.
        stop.set()
        if first:
            announce(f"received {signal.Signals(signum).name}: finishing the message in flight")

    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {sig: signal.signal(sig, on_signal) for sig in SIGNALS}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
