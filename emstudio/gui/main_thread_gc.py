"""Python's cyclic garbage collector, run on the window's thread only.

Python collects reference cycles in whichever thread happens to allocate when a generation's
threshold is crossed: the EM worker's QThread, the autosave's writer, a Dask client's IO loop.
When such a cycle holds a Qt object (a widget, a menu, a connection's closure), its C++ destructor
then runs on that thread: QObject::~QObject takes Qt's signal-slot lock and asks for the GIL
(PySide's overrides), while the window's thread, holding the GIL, waits for that lock to delete
another object — a deadlock (seen in the test suite: the window's thread stuck in ~QObject, a
Dask IO-loop thread in ~QObject asking for the GIL). Qt objects must be destroyed on their own
thread anyway.

So the automatic collector is switched off and this collector runs it from a timer on the
window's thread, generation by generation, when the allocation counts say it is due (the same
thresholds Python uses), which costs nothing when nothing is due.
"""

from __future__ import annotations

import gc

from PySide6 import QtCore

#: How often the counts are looked at (a collection of generation 0 takes well under 1 ms).
INTERVAL_MS = 500


class MainThreadGarbageCollector(QtCore.QObject):
    """Installed by the first MainWindow, on the window's thread: gc.disable(), then collect from a
    timer (headless pictures, with no thread of their own, keep Python's collector)."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        gc.disable()
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(INTERVAL_MS)

    def check(self) -> None:
        """Collect the oldest generation whose count passed its threshold (as Python would)."""
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self.thresholds[generation]:
                gc.collect(generation)
                return



_installed: MainThreadGarbageCollector | None = None


def install(app: QtCore.QCoreApplication) -> MainThreadGarbageCollector:
    """Collect garbage on ``app``'s thread from now on (idempotent)."""
    global _installed
    if _installed is None:
        _installed = MainThreadGarbageCollector(app)
    return _installed


def uninstall() -> None:
    """Give collection back to Python (a test session's windows are gone; other tests follow)."""
    global _installed
    if _installed is not None:
        _installed.timer.stop()
        _installed.deleteLater()
        _installed = None
    gc.collect()
    gc.enable()
