"""The questions workspaces ask (workspace.py): save unsaved work, where the data went, restore an
autosave. Each box is made by a function of its own (pictures of it are taken in tests and docs)
and asked with :func:`ask`, which gives the answer's word (None: cancelled)."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from emstudio.gui.workspace_state import DataChoice

Box = QtWidgets.QMessageBox


def ask(box: Box, answers: dict) -> str | None:
    box.exec()
    return answers.get(box.clickedButton())


def unsaved_box(parent, name: str | None) -> tuple[Box, dict]:
    """Save / Discard / Cancel before unsaved work is closed or replaced."""
    box = Box(parent)
    box.setIcon(Box.Icon.Question)
    box.setWindowTitle("EM Studio")
    box.setText(f"Save the changes to {name}?" if name else "Save this work as a workspace?")
    box.setInformativeText("A workspace keeps the data choice, the settings, the whole history with its "
                           "edits and the view. Discarded work cannot be restored.")
    save = box.addButton(Box.StandardButton.Save)
    discard = box.addButton(Box.StandardButton.Discard)
    box.addButton(Box.StandardButton.Cancel)
    box.setDefaultButton(save)
    return box, {save: "save", discard: "discard"}


def data_choice_box(parent, reason: str, embedded: bool) -> tuple[Box, dict]:
    """The data file moved or changed: use the workspace's copy, or find the file."""
    box = Box(parent)
    box.setIcon(Box.Icon.Warning)
    box.setWindowTitle("Where is the data?")
    box.setText(reason)
    box.setInformativeText("The workspace keeps a copy of the data it was saved with: use it, or find the "
                           "file (it must be the same data)." if embedded else
                           "Find the data file: it must be the same data as when the workspace was saved.")
    role = Box.ButtonRole
    answers = {}
    use = box.addButton("Use the embedded copy", role.AcceptRole) if embedded else None
    locate = box.addButton("Find the file…", role.ActionRole)
    box.addButton(Box.StandardButton.Cancel)
    answers[locate] = DataChoice.LOCATE
    if use is not None:
        answers[use] = DataChoice.EMBEDDED
    box.setDefaultButton(use or locate)
    return box, answers


def restore_box(parent, saved_at: QtCore.QDateTime) -> tuple[Box, dict]:
    """At start: an autosave whose window did not close normally."""
    box = Box(parent)
    box.setIcon(Box.Icon.Question)
    box.setWindowTitle("Restore unsaved work?")
    when = QtCore.QLocale().toString(saved_at, QtCore.QLocale.FormatType.ShortFormat)
    box.setText(f"Restore the unsaved workspace from {when}?")
    box.setInformativeText("EM Studio did not close normally last time; its work was saved automatically. "
                           "Discard deletes that copy.")
    role = Box.ButtonRole
    restore = box.addButton("Restore", role.AcceptRole)
    discard = box.addButton("Discard", role.DestructiveRole)
    box.setDefaultButton(restore)
    return box, {restore: "restore", discard: "discard"}
