"""Garbage with Qt objects in it is collected on the window's thread, never on another one
(gui/main_thread_gc.py: a cycle collected on a worker thread deadlocked the window)."""

import gc
import threading
import weakref

from PySide6 import QtCore

from emstudio.gui import main_thread_gc


def test_a_cycle_holding_a_qt_object_dies_on_the_window_thread(qtbot, window):
    assert not gc.isenabled()  # the automatic collector is off while the window's timer runs it
    destroyed_on = []

    def make_cycle():
        # A plain QObject: PySide hands a widget's deletion to the main thread itself, not this.
        thing = QtCore.QObject()
        holder = {"thing": thing}
        holder["self"] = holder  # a reference cycle: only the cyclic collector frees it
        weakref.finalize(thing, lambda: destroyed_on.append(threading.current_thread().name))

    make_cycle()
    # Another Python thread allocates plenty and keeps it: the collector's counts pass their
    # thresholds there (where the automatic collector would have run; counts are allocations less
    # deallocations, so garbage freed at once would not do).
    kept: list = []
    worker = threading.Thread(target=lambda: kept.extend([i] for i in range(200_000)), name="allocator")
    worker.start()
    worker.join()
    assert destroyed_on == []  # nothing collected on the allocating thread
    qtbot.waitUntil(lambda: bool(destroyed_on), timeout=5 * main_thread_gc.INTERVAL_MS)
    assert destroyed_on == [threading.main_thread().name]


def test_the_collector_runs_the_generation_that_is_due(monkeypatch, window):
    collected = []
    monkeypatch.setattr(gc, "collect", lambda generation=2: collected.append(generation) or 0)
    collector = main_thread_gc.install(QtCore.QCoreApplication.instance())  # the window's
    collector.thresholds = (700, 10, 10)
    monkeypatch.setattr(gc, "get_count", lambda: (701, 3, 0))
    collector.check()
    monkeypatch.setattr(gc, "get_count", lambda: (5, 11, 0))
    collector.check()
    monkeypatch.setattr(gc, "get_count", lambda: (5, 2, 0))
    collector.check()
    assert collected == [0, 1]
