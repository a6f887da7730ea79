"""Never lose work: the window's state is saved to the user's data folder
(QStandardPaths.AppDataLocation/autosave/) a few seconds after a change and at the end of each
run, written on a thread of its own (the window's thread only takes references, see
workspace_state.capture).

Each window owns one autosave file ``<id>.emstudio`` and holds the lock ``<id>.lock`` (QLockFile)
while it lives, so a second window of the program neither writes over it nor offers to restore it.
A clean close removes both. The lock of a window that was killed (kill -9, a crash, a power cut)
is stale: the next start finds the autosave without a live owner and offers it
(Workspace.offer_restore).
"""

from __future__ import annotations

import os
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from PySide6 import QtCore

from emstudio.gui.workspace_codec import encode
from emstudio.io.workspace import SUFFIX, workspace_bytes
from emstudio.io.atomic import atomic_write_bytes

#: The wait after a change before the state is written: changes that come faster (a run's
#: iterations, a drag) are written together, at most once per this many milliseconds.
AUTOSAVE_DELAY_MS = 3000


def default_folder() -> str:
    """Where autosaves live: the user's application data folder (XDG_DATA_HOME on Linux)."""
    base = QtCore.QStandardPaths.writableLocation(QtCore.QStandardPaths.StandardLocation.AppDataLocation)
    return str(Path(base) / "autosave")


@dataclass
class Orphan:
    """An autosave whose window is gone; its lock is held by this window while it is offered."""

    path: str
    saved_at: QtCore.QDateTime
    lock: QtCore.QLockFile

    def remove(self) -> None:
        try:
            os.unlink(self.path)
        except OSError:
            pass
        self.release()

    def release(self) -> None:
        self.lock.unlock()  # also removes the lock file


class _Writer:
    """A thread that writes the newest state it is given (an older one not yet written is
    skipped: only the latest matters)."""

    def __init__(self, path: str, done) -> None:
        self.path = path
        self.done = done  # called on the writer's thread with (generation, error message or "")
        self._condition = threading.Condition()
        self._job = None
        self._busy = False
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name="emstudio-autosave", daemon=True)
        self._thread.start()

    def submit(self, generation: int, state) -> None:
        with self._condition:
            self._job = (generation, state)
            self._condition.notify()

    def _loop(self) -> None:
        while True:
            with self._condition:
                while self._job is None and not self._stop:
                    self._condition.wait()
                if self._job is None:
                    return
                (generation, state), self._job = self._job, None
                self._busy = True
            try:
                atomic_write_bytes(self.path, workspace_bytes(encode(state)))
                message = ""
            except Exception as exc:  # noqa: BLE001 - an autosave that fails must never end the window
                message = str(exc) or type(exc).__name__
            with self._condition:
                self._busy = False
                self._condition.notify_all()
            self.done(generation, message)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        with self._condition:
            return self._condition.wait_for(lambda: self._job is None and not self._busy, timeout)

    def stop(self) -> None:
        with self._condition:
            self._stop = True
            self._condition.notify_all()
        self._thread.join(timeout=30.0)


class Autosave(QtCore.QObject):
    """``schedule()`` after a change, ``save_now()`` at the end of a run; ``written(error)`` when
    a state was written (empty: it was). ``folder`` None: no autosave (benchmarks, tools)."""

    written = QtCore.Signal(str)
    _finished = QtCore.Signal(int, str)

    def __init__(self, window, folder: str | None, delay_ms: int = AUTOSAVE_DELAY_MS) -> None:
        super().__init__(window)
        self.window = window
        self.folder = folder
        self.path: str | None = None
        self.last_error = ""
        self._generation = 0
        self._writer: _Writer | None = None
        self._lock: QtCore.QLockFile | None = None
        self.timer = QtCore.QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(delay_ms)
        self.timer.timeout.connect(self.save_now)
        self._finished.connect(self._on_written, QtCore.Qt.ConnectionType.QueuedConnection)
        if folder is None:
            return
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            self.last_error = f"cannot make the autosave folder {folder}: {exc.strerror or exc}"
            self.folder = None
            return
        name = uuid.uuid4().hex
        self.path = os.path.join(folder, name + SUFFIX)
        self._lock = QtCore.QLockFile(os.path.join(folder, name + ".lock"))
        self._lock.setStaleLockTime(0)  # only a dead owner makes a lock stale, never its age
        self._lock.tryLock(0)

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def schedule(self) -> None:
        """A change: write within the delay (a run's changes do not push the write back)."""
        if self.enabled and not self.timer.isActive():
            self.timer.start()

    def save_now(self) -> None:
        """Take the window's state now (cheap) and have it written on the writer's thread."""
        from emstudio.gui.workspace_state import capture

        self.timer.stop()
        if not self.enabled:
            return
        state = capture(self.window)
        if state is None:
            return
        if self._writer is None:
            self._writer = _Writer(self.path, self._finished.emit)
        self._generation += 1
        self._writer.submit(self._generation, state)

    def _on_written(self, _generation: int, error: str) -> None:
        self.last_error = error
        self.written.emit(error)

    def wait(self, timeout: float = 30.0) -> bool:
        """Wait until what was asked to be written is written (tests, closing)."""
        return self._writer is None or self._writer.wait_idle(timeout)

    def forget(self) -> None:
        """The state was saved where the person chose: no autosave is needed until the next change."""
        self.timer.stop()
        if self._writer is not None:
            self._writer.wait_idle()
        if self.path is not None:
            try:
                os.unlink(self.path)
            except OSError:
                pass

    def finish(self) -> None:
        """A clean close: stop writing, remove the autosave and its lock."""
        self.timer.stop()
        if self._writer is not None:
            self._writer.stop()
            self._writer = None
        self.forget()
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None
        self.path = None

    def orphans(self) -> list[Orphan]:
        """Autosaves in the folder whose window is gone (their lock is stale or missing), newest
        first; each is locked by this window until it is removed or released."""
        if not self.enabled:
            return []
        found = []
        for entry in sorted(Path(self.folder).glob("*" + SUFFIX)):
            if str(entry) == self.path:
                continue
            lock = QtCore.QLockFile(str(entry.with_suffix(".lock")))
            lock.setStaleLockTime(0)
            if not lock.tryLock(0):
                continue  # a live window's
            try:
                saved_at = QtCore.QFileInfo(str(entry)).lastModified()
            except RuntimeError:
                lock.unlock()
                continue
            found.append(Orphan(str(entry), saved_at, lock))
        found.sort(key=lambda o: o.saved_at.toMSecsSinceEpoch(), reverse=True)
        self._remove_stale_locks()
        return found

    def _remove_stale_locks(self) -> None:
        """Locks of windows that died before their first autosave (a live window's stays)."""
        for entry in Path(self.folder).glob("*.lock"):
            if entry.with_suffix(SUFFIX).exists():
                continue
            lock = QtCore.QLockFile(str(entry))
            lock.setStaleLockTime(0)
            if lock.tryLock(0):
                lock.unlock()  # removes the file
