"""Workspaces in the window: File ▸ Save Workspace (Ctrl+S), Save Workspace As… (Ctrl+Shift+S),
Open Workspace… (Ctrl+Shift+O), the title (the workspace's name, ``*`` while unsaved), asking
before unsaved work is closed, and the autosave (autosave.py) that follows every change.

Every question is an attribute holding a function (``ask_unsaved``, ``ask_data_choice``,
``ask_data_file``, ``ask_save_path``, ``ask_open_path``, ``ask_restore``) so that tests answer it
without a dialog.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import threading
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from emstudio.errors import EmstudioError
from emstudio.gui import workspace_dialogs as dialogs
from emstudio.gui.autosave import Autosave
from emstudio.gui.files import read_dataset
from emstudio.gui.workspace_codec import decode, encode
from emstudio.gui.workspace_state import capture, find_data, restore
from emstudio.io.workspace import SUFFIX, read_workspace, write_workspace

FILTER = f"EM Studio workspace (*{SUFFIX});;All files (*)"


class Workspace(QtCore.QObject):
    """Owns ``path`` (the workspace file on screen, None before one is saved or opened), ``dirty``
    (changes since), ``embed_always`` (File ▸ Embed the data) and ``autosave``."""

    def __init__(self, window, autosave_dir: str | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.path: str | None = None
        self.dirty = False
        self.embed_always = False
        self._quiet = False  # putting a workspace back: its signals are no change of the person's
        self.changes = 0  # every change counted (an opening on a cluster asks if work was done meanwhile)
        self.busy = False  # a workspace is being opened (its reading runs while the event loop goes on)
        self._copies: tempfile.TemporaryDirectory | None = None  # embedded data written to be read
        self.autosave = Autosave(window, autosave_dir)
        self.ask_unsaved = self._ask_unsaved
        self.ask_data_choice = self._ask_data_choice
        self.ask_data_file = self._ask_data_file
        self.ask_save_path = self._ask_save_path
        self.ask_open_path = self._ask_open_path
        self.ask_restore = self._ask_restore

    def connect(self) -> None:
        """Every change of the fit, the data, the settings or the view marks the workspace unsaved
        and schedules an autosave; the end of a run autosaves at once."""
        w = self.window
        c = w.controller
        for signal in (c.history_changed, c.undo_changed, c.data_changed, c.axes_changed,
                       w.controls.settings_changed, w.controls.factor_changed, w.selection.selection_ready,
                       w.actions["equal_aspect"].toggled, w.actions["shade_uncertainty"].toggled):
            signal.connect(self.changed)
        c.outcome.connect(self._run_ended)
        self.autosave.written.connect(self._autosave_written)
        if self.autosave.last_error:  # no folder for autosaves: said once; the window goes on without
            QtCore.QTimer.singleShot(0, lambda: self.window.report.show_error(
                f"Autosave is off: {self.autosave.last_error}. Save the workspace yourself (Ctrl+S)."))

    # ------------------------------------------------------------------ changes and the title
    def changed(self, *_) -> None:
        if self._quiet or self.window.dataset is None:
            return
        self.changes += 1
        if self.window.dataset.cluster is not None:  # not kept in a workspace: nothing to save or autosave
            if self.dirty or self.autosave.timer.isActive():  # the work before them was saved or discarded
                self.autosave.forget()
                self._clean(None)
            return
        if not self.dirty:
            self.dirty = True
            self.show_title()
        self.autosave.schedule()

    def _autosave_written(self, error: str) -> None:
        if error:  # said, never raised: the window goes on, and the next change tries again
            self.window.report.say(f"Autosave failed: {error}")

    def _run_ended(self, _outcome) -> None:
        if not self._quiet and self.window.dataset is not None and self.window.dataset.cluster is None:
            self.changed()
            self.autosave.save_now()

    def show_title(self) -> None:
        """"name.emstudio — data.csv — EM Studio", with ``*`` while there are unsaved changes."""
        w = self.window
        parts = []
        if self.path is not None:
            parts.append(os.path.basename(self.path) + "[*]")
        if w.dataset is not None:
            parts.append(os.path.basename(w.dataset.source) + ("" if self.path else "[*]"))
        w.setWindowTitle(" — ".join(parts + ["EM Studio"]))
        w.setWindowModified(self.dirty)

    def _clean(self, path: str | None) -> None:
        self.path = path
        self.dirty = False
        self.show_title()

    # ------------------------------------------------------------------ saving
    def save(self) -> bool:
        """File ▸ Save Workspace: to its file, or (the first time) to one asked for."""
        return self.save_to(self.path) if self.path else self.save_as()

    def save_as(self) -> bool:
        path = self.ask_save_path()
        if not path:
            return False
        if not path.endswith(SUFFIX):
            path += SUFFIX
        return self.save_to(path)

    def save_to(self, path: str) -> bool:
        """Write the window's state to ``path`` (atomically); False with the reason shown."""
        w = self.window
        state = capture(w, embed=self.embed_always)
        if state is None:
            w.report.show_error("Nothing to save: open a data file first")
            return False
        QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.CursorShape.WaitCursor)
        try:
            write_workspace(path, encode(state))
        except (EmstudioError, OSError, ValueError) as exc:
            w.report.show_error(f"Could not save the workspace {os.path.basename(path)}: {exc}")
            return False
        finally:
            QtWidgets.QApplication.restoreOverrideCursor()
        self._clean(os.path.abspath(path))
        self.autosave.forget()  # the file holds it all now
        w.files.add_recent(self.path)
        w.store.setValue("last_dir", str(Path(path).resolve().parent))
        w.report.say(f"Saved the workspace {os.path.basename(path)}")
        return True

    # ------------------------------------------------------------------ opening
    def open_dialog(self) -> None:
        path = self.ask_open_path()
        if path:
            self.open(path)

    def open(self, path: str, from_autosave: bool = False) -> bool:
        """Show the workspace saved in ``path``. Anything wrong with it is one message and the
        window stays as it was; so does a cancelled question about its data. While it is being
        read the window answers, but opens, loads and closes nothing else."""
        if self.busy or (not from_autosave and not self.confirm_discard()):
            return False
        self.busy = True
        try:
            return self._open(path, from_autosave)
        finally:
            self.busy = False

    def _open(self, path: str, from_autosave: bool) -> bool:
        w = self.window
        name = os.path.basename(path)
        try:
            saved = self._in_background(lambda: decode(read_workspace(path)), f"Opening {name}…")
            dataset = find_data(saved.data, read_dataset, self.ask_data_choice, self.ask_data_file, self._copy_dir,
                                lambda work: self._in_background(work, f"Reading the data of {name}…"))
        except EmstudioError as exc:
            w.report.show_error(f"Could not open the workspace {name}: {exc}")
            return False
        if dataset is None:
            w.report.say(f"Did not open the workspace {name}")
            return False
        self._quiet = True
        try:
            restore(w, _with_dataset(saved.state, dataset))
        finally:
            self._quiet = False
        if from_autosave:
            saved_path = saved.state.view.get("workspace_path")
            self.path = saved_path if isinstance(saved_path, str) else None
            self.dirty = True
            self.show_title()
            self.autosave.save_now()
            w.report.say("Restored the unsaved workspace")
        else:
            self._clean(os.path.abspath(path))
            w.files.add_recent(self.path)
            w.report.say(f"Opened the workspace {name}")
        return True

    def _in_background(self, work, label: str):
        """``work()`` on a thread of its own (reading and hashing large data takes seconds); the
        window's event loop goes on meanwhile, behind a modal progress dialog (shown only if it
        lasts) so that nothing else is asked of the window until it is done."""
        outcome: dict = {}

        def run() -> None:
            try:
                outcome["value"] = work()
            except BaseException as exc:  # noqa: BLE001 - raised again on the window's thread
                outcome["error"] = exc

        thread = threading.Thread(target=run, name="emstudio-open", daemon=True)
        thread.start()
        thread.join(0.05)
        if thread.is_alive():
            progress = QtWidgets.QProgressDialog(label, "", 0, 0, self.window)
            progress.setCancelButton(None)
            progress.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
            progress.setMinimumDuration(400)
            loop = QtCore.QEventLoop()
            timer = QtCore.QTimer()
            timer.timeout.connect(lambda: None if thread.is_alive() else loop.quit())
            timer.start(15)
            loop.exec()
            timer.stop()
            progress.close()
            progress.deleteLater()
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    def _copy_dir(self) -> str:
        if self._copies is None:
            self._copies = tempfile.TemporaryDirectory(prefix="emstudio-embedded-")
        return self._copies.name

    # ------------------------------------------------------------------ closing
    def confirm_discard(self) -> bool:
        """Before unsaved work is replaced or closed: Save (and go on if it was saved), Discard, or
        Cancel (False). Never while a workspace is being opened (it is to finish first)."""
        if self.busy:
            return False
        if self.window.dataset is not None and self.window.dataset.cluster is not None:
            return self.window.cluster_link.confirm_discard()  # no workspace: a result file keeps the fit
        if not self.dirty or self.window.dataset is None:
            return True
        answer = self.ask_unsaved()
        if answer == "save":
            return self.save()
        return answer == "discard"

    def close(self) -> None:
        """The window closes (after confirm_discard): the autosave goes, as nothing is unsaved."""
        self.autosave.finish()
        if self._copies is not None:
            self._copies.cleanup()
            self._copies = None

    def offer_restore(self) -> bool:
        """At start: an autosave whose window is gone (killed, crashed) is offered; True if it
        was restored."""
        for orphan in self.autosave.orphans():
            answer = self.ask_restore(orphan.saved_at)
            if answer == "restore":
                restored = self.open(orphan.path, from_autosave=True)
                if restored:
                    orphan.remove()
                else:
                    orphan.release()
                return restored
            if answer == "discard":
                orphan.remove()
            else:
                orphan.release()
            return False
        return False

    # ------------------------------------------------------------------ the questions
    def _ask_unsaved(self) -> str | None:
        return dialogs.ask(*dialogs.unsaved_box(self.window, os.path.basename(self.path) if self.path else None))

    def _ask_data_choice(self, reason: str, embedded: bool) -> str | None:
        return dialogs.ask(*dialogs.data_choice_box(self.window, reason, embedded))

    def _ask_data_file(self, ref) -> str | None:
        start = os.path.dirname(ref.path) if os.path.isdir(os.path.dirname(ref.path)) else str(Path.home())
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self.window, f"Find {os.path.basename(ref.path)}", start,
                                                        "All files (*)")
        return path or None

    def _ask_save_path(self) -> str | None:
        w = self.window
        start = self.path or os.path.join(w.store.value("last_dir", str(Path.home())),
                                          Path(w.dataset.source).stem + SUFFIX if w.dataset else "workspace" + SUFFIX)
        path, _ = QtWidgets.QFileDialog.getSaveFileName(w, "Save workspace", start, FILTER)
        return path or None

    def _ask_open_path(self) -> str | None:
        start = self.window.store.value("last_dir", str(Path.home()))
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self.window, "Open workspace", start, FILTER)
        return path or None

    def _ask_restore(self, saved_at: QtCore.QDateTime) -> str | None:
        return dialogs.ask(*dialogs.restore_box(self.window, saved_at))


def _with_dataset(state, dataset):
    return dataclasses.replace(state, dataset=dataset)


def install(window, autosave_dir: str | None) -> Workspace:
    """The window's workspace part, with its signals connected (after the window's parts)."""
    workspace = Workspace(window, autosave_dir)
    workspace.connect()
    return workspace
