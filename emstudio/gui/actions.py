"""The window's actions (with their shortcuts and tips) and its menus. An action calls into the part
that does the work, looked up when it is triggered (the parts are made after the actions)."""

from __future__ import annotations

from PySide6 import QtCore, QtGui

from emstudio.samples import WINDOW_SAMPLES, samples_dir

#: What the buttons of these actions say (menus say the action's plain text).
BUTTON_TEXTS = {"run": "▶ Run", "pause": "❙❙ Pause", "stop": "■ Stop", "step_e": "Step E", "step_m": "Step M",
                "step": "Step E+M", "reinit": "⟲ Re-initialise", "shade_uncertainty": "Uncertainty"}


def make_actions(window) -> dict[str, QtGui.QAction]:
    """Every action of the window by name (``window.actions``); each is also added to the window so
    its shortcut works wherever the focus is."""
    actions: dict[str, QtGui.QAction] = {}
    w = window

    def a(name, text, slot, shortcut=None, tip="") -> QtGui.QAction:
        action = QtGui.QAction(text, w)
        if shortcut:
            action.setShortcut(QtGui.QKeySequence(shortcut))
            action.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        shown = f"{tip} ({QtGui.QKeySequence(shortcut).toString()})" if shortcut else tip
        action.setToolTip(shown)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        w.addAction(action)
        actions[name] = action
        return action

    a("open", "&Open…", lambda: w.files.open_dialog(), QtGui.QKeySequence.StandardKey.Open, "Open a data file")
    a("open_workspace", "Open &Workspace…", lambda: w.workspace.open_dialog(), "Ctrl+Shift+O",
      "Open a workspace: the data, the settings, the history and its edits as they were saved")
    a("save_workspace", "&Save Workspace", lambda: w.workspace.save(), QtGui.QKeySequence.StandardKey.Save,
      "Save the data choice, the settings, the whole history with its edits and the view in a workspace file")
    a("save_workspace_as", "Save Workspace &As…", lambda: w.workspace.save_as(), "Ctrl+Shift+S",
      "Save the workspace in a new file")
    a("embed_data", "&Embed the data in the workspace", lambda on: setattr(w.workspace, "embed_always", on), None,
      "Keep a copy of the data file in the workspace whatever its size (by default one up to 50 MB is kept)")
    actions["embed_data"].setCheckable(True)
    a("import_start", "&Import start parameters…", lambda: w.files.import_start_dialog(), None,
      "Use a result or parameter file as EM's start")
    a("export_params", "Export &parameters…", lambda: w.exporter.export_params_dialog(),
      "Ctrl+E", "Write the parameters on screen as a result file (JSON)")
    a("export_labels", "Export &labels…", lambda: w.exporter.export_labels_dialog(), None,
      "Write each sample's component and responsibilities (CSV)")
    a("export_picture", "Export p&icture…", lambda: w.exporter.export_picture_dialog(), "Ctrl+Shift+E",
      "Write the plot as PNG or SVG")
    a("export_animation", "Export &animation…", lambda: w.animation_export.dialog(), None,
      "Write the run on screen, one frame per iteration, as a GIF (or MP4 with ffmpeg)")
    a("quit", "&Quit", w.close, QtGui.QKeySequence.StandardKey.Quit, "Close EM Studio")
    a("run_pause", "Run / &Pause", lambda: w.requests.run_or_pause(), "Space", "Run EM, or pause a run")
    a("run", "&Run", lambda: w.requests.run(), None,
      "Run EM until it converges (Space), continuing from the iteration on screen")
    a("pause", "&Pause", lambda: w.requests.pause(), None, "Pause the run; Run continues it (Space)")
    a("stop", "&Stop", lambda: w.requests.stop(), "Esc", "Stop the run")
    a("step_e", "Step &E", lambda: w.requests.step("E"), "E",
      "E-step: responsibilities q = p(z | x, θ) — the colours change, the ellipses stay")
    a("step_m", "Step &M", lambda: w.requests.step("M"), "M",
      "M-step: θ = argmax Q(θ | θₜ) for the current q — the ellipses move, the colours stay")
    a("step", "Step E+M (&N)", lambda: w.requests.step("EM"), "N", "One whole EM iteration: E-step then M-step")
    a("reinit", "Re-&initialise", lambda: w.requests.reinitialise(), "R",
      "Make a new start from the settings (iteration 0)")
    a("play", "▶", lambda: w.history.toggle_play(), None, "Play the history as an animation")
    a("select_models", "Choose &K and model…", lambda: w.docks.show_selection(), None,
      "Fit a grid of K and covariance models and compare them by BIC, AIC or ICL")
    a("shade_uncertainty", "Shade by &uncertainty", lambda on: w.requests.set_uncertainty_shading(on), "U",
      "Colour the points by their uncertainty 1 − maxₖ rᵢₖ (light: certain, dark: uncertain) instead of "
      "blending the components' colours")
    actions["shade_uncertainty"].setCheckable(True)
    a("equal_aspect", "&Equal aspect (Σ = I is round)", lambda on: w.view_options.set_equal_aspect(on), None,
      "One data unit as long on both axes, so that every covariance is drawn with its true shape "
      "(on by default when the columns shown have comparable spreads)")
    actions["equal_aspect"].setCheckable(True)
    a("undo", "&Undo edit", lambda: w.edits.undo(), QtGui.QKeySequence.StandardKey.Undo,
      "Undo the last change made by hand")
    a("redo", "&Redo edit", lambda: w.edits.redo(), "Ctrl+Shift+Z", "Do again the change undone last")
    actions["redo"].setShortcuts([QtGui.QKeySequence("Ctrl+Shift+Z"), QtGui.QKeySequence("Ctrl+Y")])
    a("add_component", "&Add a component", lambda: w.edits.add_component_at(None), "A",
      "Add a component at the centre of the view (or double-click the plot where you want it)")
    a("delete_component", "&Delete component", lambda: w.edits.delete_component(),
      QtGui.QKeySequence.StandardKey.Delete, "Delete the selected component (click its mean to select it)")
    a("freeze_component", "&Freeze / free component", lambda: w.edits.toggle_freeze(), "F",
      "Freeze the selected component: EM's M-steps keep it as it is (the other weights adjust)")
    # Menus show plain words; buttons (which show an action's icon text) the same words with
    # their glyph, the same glyph wherever a button does the same thing.
    for name, glyph_text in BUTTON_TEXTS.items():
        actions[name].setIconText(glyph_text)
    return actions


def make_menus(window) -> None:
    """The menu bar: File, Fit, Edit, View, Help. File ▸ Open Recent belongs to ``window.files``."""
    w = window
    actions = w.actions
    bar = w.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(actions["open"])
    file_menu.addAction(actions["open_workspace"])
    recent_menu = file_menu.addMenu("Open &Recent")
    recent_menu.setToolTipsVisible(True)
    samples = file_menu.addMenu("&Samples")
    for filename, label, tip in WINDOW_SAMPLES:
        path = samples_dir() / filename
        if path.exists():
            action = samples.addAction(label)
            action.setStatusTip(tip)
            action.triggered.connect(lambda _=False, p=str(path): w.files.load_file(p))
    file_menu.addSeparator()
    for name in ("save_workspace", "save_workspace_as", "embed_data"):
        file_menu.addAction(actions[name])
    file_menu.addSeparator()
    for name in ("import_start", "export_params", "export_labels", "export_picture", "export_animation", None, "quit"):
        file_menu.addSeparator() if name is None else file_menu.addAction(actions[name])
    fit_menu = bar.addMenu("F&it")
    for name in ("run_pause", "stop", None, "step_e", "step_m", "step", None, "reinit", None, "select_models"):
        fit_menu.addSeparator() if name is None else fit_menu.addAction(actions[name])
    edit_menu = bar.addMenu("&Edit")
    for name in ("undo", "redo", None, "add_component", "delete_component", "freeze_component"):
        edit_menu.addSeparator() if name is None else edit_menu.addAction(actions[name])
    edit_menu.addSeparator()
    # The mouse's edits are told in the shortcuts window (a menu item is no place for a paragraph).
    hint = edit_menu.addAction("Editing with the mouse…", lambda: w.help.show_shortcuts())
    hint.setStatusTip("Drag a mean to move it, drag a selected component's handles to stretch and turn it, "
                      "double-click to add a component")
    view_menu = bar.addMenu("&View")
    for dock in w.docks.all():
        view_menu.addAction(dock.toggleViewAction())
    # A separator dragged by hand keeps its share of the width (dock_split.py) until this.
    reset = view_menu.addAction("Default dock sizes", lambda: w.docks.default_sizes())
    reset.setStatusTip("The docks' default widths and heights: the panels beside the plot follow the "
                       "window's width again")
    view_menu.addSeparator()
    view_menu.addAction(actions["shade_uncertainty"])
    view_menu.addAction(actions["equal_aspect"])
    w.help.fill_menu(bar.addMenu("&Help"))
    w.files.recent_menu = recent_menu
    w.files.refresh_recent()
