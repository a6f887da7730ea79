"""Hands on the components: drag, stretch, add, delete, freeze, each undone and redone; the
monotonicity indicator. Drags go through the handles' own pyqtgraph drag handler."""

import dataclasses

import numpy as np
import pytest
from PySide6 import QtCore

from emstudio.core.geometry import marginal
from tests.gui.conftest import sample, wait_outcome


class _Drag:
    """A pyqtgraph MouseDragEvent as a handle sees it, from ``start`` to ``end`` (data coordinates)."""

    def __init__(self, item, start, end, *, first, last):
        self.item, self.start, self.end, self.first, self.last = item, start, end, first, last

    def button(self):
        return QtCore.Qt.MouseButton.LeftButton

    def isStart(self):  # noqa: N802 - pyqtgraph API
        return self.first

    def isFinish(self):  # noqa: N802 - pyqtgraph API
        return self.last

    def accept(self):
        pass

    def buttonDownPos(self):  # noqa: N802 - pyqtgraph API
        return self.item.mapFromView(QtCore.QPointF(*self.start))

    def pos(self):
        return self.item.mapFromView(QtCore.QPointF(*self.end))


def drag(handle, end, steps=3):
    """Drag ``handle`` from where it is to ``end`` (x, y) in a few moves, then let go."""
    start = (handle.pos().x(), handle.pos().y())
    for i in range(steps + 1):
        t = i / steps
        at = (start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1]))
        handle.mouseDragEvent(_Drag(handle, start, at, first=i == 0, last=i == steps))


def _fitted(window, qtbot, name="separated.csv", k=3, max_iter=None):
    assert window.files.load_file(sample(name))
    window.controls.k.setValue(k)
    if max_iter is not None:
        window.controls.max_iter.setValue(max_iter)
    wait_outcome(qtbot, window, window.requests.run)
    return window.controller


def _edit(qtbot, window, action):
    """Do an edit and wait until the worker measured the edited state."""
    return wait_outcome(qtbot, window, action)


def test_drag_a_mean_moves_the_component_and_is_undoable(window, qtbot):
    c = _fitted(window, qtbot)
    before = c.current
    handle = window.editor.mean_handles[1]
    target = (before.params.means[1, 0] + 1.5, before.params.means[1, 1] - 0.5)
    _edit(qtbot, window, lambda: drag(handle, target))
    edited = c.current
    assert edited.kind == "edit" and edited.note == "moved component 2"
    np.testing.assert_allclose(edited.params.means[1], target)
    np.testing.assert_array_equal(edited.params.means[[0, 2]], before.params.means[[0, 2]])
    assert edited.iteration == before.iteration and c.history[-1] is edited
    assert edited.log_likelihood < before.log_likelihood  # moved off the maximum
    assert "moved component 2" in window.history.label.text()
    assert "hand edit" in window.bound_view.caption.text()  # the bound view says it is no EM step
    assert len(window.likelihood.edits.getData()[0]) == 1  # an orange diamond on the curve
    # the drawn mean follows
    np.testing.assert_allclose(window.plot.means.getData()[0][1], target[0])

    assert window.actions["undo"].isEnabled() and not window.actions["redo"].isEnabled()
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Z, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert c.current is before and c.history[-1] is before
    np.testing.assert_allclose(window.plot.means.getData()[0][1], before.params.means[1, 0])
    assert window.actions["redo"].isEnabled()
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Z,
                   QtCore.Qt.KeyboardModifier.ControlModifier | QtCore.Qt.KeyboardModifier.ShiftModifier)
    assert c.current is edited
    assert not window.actions["redo"].isEnabled()


def test_run_goes_on_from_the_edit(window, qtbot):
    c = _fitted(window, qtbot)
    converged_at = c.current.iteration
    handle = window.editor.mean_handles[0]
    _edit(qtbot, window, lambda: drag(handle, (handle.pos().x() + 2, handle.pos().y() + 2)))
    wait_outcome(qtbot, window, window.requests.run)
    kinds = [f.kind for f in c.history]
    assert kinds.count("edit") == 1 and kinds[-1] == "iteration"
    edit_at = kinds.index("edit")
    assert c.history[edit_at + 1].iteration == converged_at + 1
    after = [f.log_likelihood for f in c.history[edit_at:]]
    assert np.all(np.diff(after) >= -1e-9 * np.abs(after[1:]))  # EM climbs again from the edit
    assert window.report.monotone_label.text().startswith("✓")
    series = window.bound_view.series  # the bound view marks where the edit split the half-steps
    assert len(series.edits) == 1 and series.kinds[int(series.edits[0] + 0.5)] == "E"


def test_stretch_and_turn_an_ellipse(window, qtbot):
    c = _fitted(window, qtbot, "elongated.csv", k=2)
    window.editor.select(0)
    assert window.editor.major.isVisible() and window.editor.minor.isVisible()
    mean = c.current.params.means[0]
    new_axis = np.array([0.0, 3.0])  # the major semi-axis turned to vertical, 3 long
    minor_length = np.sqrt(np.linalg.eigvalsh(c.current.params.covariances[0])[0])
    _edit(qtbot, window, lambda: drag(window.editor.major, tuple(mean + new_axis)))
    edited = c.current
    assert edited.note == "reshaped component 1"
    values, vectors = np.linalg.eigh(edited.params.covariances[0])
    np.testing.assert_allclose(np.sqrt(values), [minor_length, 3.0], rtol=1e-9)
    np.testing.assert_allclose(abs(vectors[:, 1] @ [0.0, 1.0]), 1.0, rtol=1e-9)
    np.testing.assert_array_equal(edited.params.means, c.history[-2].params.means)
    # the handle sits on the new ellipse's end
    np.testing.assert_allclose([window.editor.major.pos().x(), window.editor.major.pos().y()],
                               mean + new_axis, rtol=1e-6, atol=1e-6)
    # the minor handle makes it fatter at right angles
    _edit(qtbot, window, lambda: drag(window.editor.minor, (mean[0] + 1.0, mean[1])))
    np.testing.assert_allclose(np.sqrt(np.linalg.eigvalsh(c.current.params.covariances[0])), [1.0, 3.0], rtol=1e-9)
    window.edits.undo()
    window.edits.undo()
    np.testing.assert_allclose(c.current.params.covariances, c.history[-1].params.covariances)
    assert c.current.kind == "iteration"


def test_stretch_in_one_dimension(window, qtbot):
    c = _fitted(window, qtbot, "one_d.csv", k=3)
    window.editor.select(2)
    mu = c.current.params.means[2, 0]
    assert window.editor.major.isVisible() and not window.editor.minor.isVisible()
    _edit(qtbot, window, lambda: drag(window.editor.major, (mu + 0.5, 0.0)))
    assert c.current.params.covariances[2, 0, 0] == pytest.approx(0.25)
    # drag the mean along the axis: only x counts
    _edit(qtbot, window, lambda: drag(window.editor.mean_handles[2], (mu - 1.0, 0.01)))
    assert c.current.params.means[2, 0] == pytest.approx(mu - 1.0)
    assert window.plot.mixture_curve.isVisible()


def test_add_and_delete_components(window, qtbot):
    c = _fitted(window, qtbot, k=3)
    fitted = c.current
    _edit(qtbot, window, lambda: window.edits.add_component_at((1.0, 2.0)))
    added = c.current.params
    assert added.n_components == 4 and window.table.rowCount() == 4
    np.testing.assert_allclose(added.means[3], [1.0, 2.0])
    assert added.weights[3] == pytest.approx(0.25)
    assert window.controls.k.value() == 4 and not c.fresh  # the next Run goes on from here
    assert window.editor.selected == 3 and len([h for h in window.editor.mean_handles if h.isVisible()]) == 4
    # delete the selected one with the Delete key
    window.editor.select(0)
    _edit(qtbot, window, lambda: qtbot.keyClick(window, QtCore.Qt.Key.Key_Delete))
    assert c.current.params.n_components == 3 and c.current.note == "deleted component 1"
    np.testing.assert_allclose(c.current.params.means[2], [1.0, 2.0])
    window.edits.undo()
    assert c.current.params.n_components == 4 and window.controls.k.value() == 4
    window.edits.undo()
    assert c.current is fitted and window.controls.k.value() == 3
    # a double-click on the plot adds one there
    _edit(qtbot, window, lambda: window.editor.add_requested.emit((-2.0, 0.5)))
    np.testing.assert_allclose(c.current.params.means[-1], [-2.0, 0.5])
    assert not window.actions["redo"].isEnabled()  # a new edit forgets what was undone


def test_delete_the_only_component_is_refused(window, qtbot):
    _fitted(window, qtbot, k=1)
    window.editor.select(0)
    assert not window.edits.delete_component()
    assert "cannot remove the only component" in window.banner.label.text()


def test_freeze_keeps_a_component_while_em_runs(window, qtbot):
    c = _fitted(window, qtbot, "overlapping.csv", k=3, max_iter=5)
    window.editor.select(1)
    _edit(qtbot, window, lambda: qtbot.keyClick(window, QtCore.Qt.Key.Key_F))
    assert c.frozen.tolist() == [False, True, False] and c.current.note == "froze component 2"
    assert window.table.item(1, 0).text().endswith("❄")
    assert window.plot._labels[1].textItem.toPlainText() == "2❄"
    # move the frozen component somewhere else, then let EM go on: it stays put
    handle = window.editor.mean_handles[1]
    _edit(qtbot, window, lambda: drag(handle, (handle.pos().x() + 1, handle.pos().y())))
    assert c.frozen.tolist() == [False, True, False]  # a drag keeps the flags
    held = c.current.params
    window.controls.max_iter.setValue(60)
    wait_outcome(qtbot, window, window.requests.run)
    final = c.current.params
    np.testing.assert_array_equal(final.means[1], held.means[1])
    np.testing.assert_array_equal(final.covariances[1], held.covariances[1])
    assert final.weights[1] == pytest.approx(held.weights[1])
    assert not np.allclose(final.means[[0, 2]], held.means[[0, 2]])
    assert window.report.monotone_label.text().startswith("✓")
    # Step E / Step M respect it too
    wait_outcome(qtbot, window, lambda: window.requests.step("EM"))
    np.testing.assert_array_equal(c.current.params.means[1], held.means[1])
    # free it again (the row's menu), then undo that
    menu = window.edits.component_actions(1)
    assert menu.actions()[0].text() == "Free component 2"
    _edit(qtbot, window, menu.actions()[0].trigger)
    assert c.frozen is None  # no component frozen
    window.edits.undo()
    assert c.frozen.tolist() == [False, True, False]


def test_drag_during_a_run_pauses_it(make_window, qtbot):
    window = make_window(pace_index=4)  # one iteration a second: the run is surely on
    assert window.files.load_file(sample("overlapping.csv"))
    c = window.controller
    with qtbot.waitSignal(c.display, timeout=10000):
        window.requests.run()
    assert c.state == "running"
    handle = window.editor.mean_handles[0]
    qtbot.waitUntil(handle.isVisible, timeout=5000)  # placed with the panels, ~10 times a second
    drag(handle, (handle.pos().x() + 1, handle.pos().y()))  # the grab pauses the run at once
    qtbot.waitUntil(lambda: c.state == "idle" and c.current is not None and c.current.kind == "edit", timeout=10000)
    assert [f.kind for f in c.history].count("edit") == 1


def test_monotonicity_indicator_names_a_fall(window, qtbot):
    c = _fitted(window, qtbot, max_iter=6)
    history = list(c.history)
    assert window.report.monotone_label.text().startswith("✓")
    # A made-up fall where reg_covar does not bind: called a fault, with its iteration.
    broken = history[:3] + [dataclasses.replace(history[3], log_likelihood=history[2].log_likelihood - 1.0)]
    window.report.show_monotonicity(broken)
    assert window.report.monotone_label.text().startswith("✗") and "iteration 3" in window.report.monotone_label.text()
    window.report.go_to_first_fall()
    assert window.history.slider.value() == 3
    # The same fall where reg_covar binds: the documented effect, not a fault.
    explained = broken[:3] + [dataclasses.replace(broken[3], reg_covar_binds=True)]
    window.report.show_monotonicity(explained)
    assert window.report.monotone_label.text().startswith("⚠") and "reg_covar" in window.report.monotone_label.text()
    # The same fall made by a hand edit: not an EM step, not checked.
    edited = broken[:3] + [dataclasses.replace(broken[3], kind="edit")]
    window.report.show_monotonicity(edited)
    assert window.report.monotone_label.text().startswith("✓")


def test_new_data_forgets_the_edits(window, qtbot):
    c = _fitted(window, qtbot)
    window.editor.select(0)
    _edit(qtbot, window, window.edits.toggle_freeze)
    assert window.actions["undo"].isEnabled()
    assert window.files.load_file(sample("overlapping.csv"))
    assert not window.actions["undo"].isEnabled() and c.frozen is None
    assert window.report.monotone_label.text() == ""


def test_seed_step0_start_is_explained(window):
    combo = window.controls.init
    combo.setCurrentIndex(combo.findData("seed-step0"))
    note = window.controls.start_note.text()
    assert "πₖ = 1/K" in note and "Σₖ = I" in note and "K-means" in note


def test_edits_on_four_dimensions_touch_only_the_shown_columns(window, qtbot):
    c = _fitted(window, qtbot, "four_d.csv", k=3)
    window.controls.x_axis.setCurrentIndex(2)
    window.controls.y_axis.setCurrentIndex(3)
    before = c.current.params
    window.editor.select(1)
    means, covs = marginal(before, (2, 3))
    axis = np.array([1.0, 1.0])
    _edit(qtbot, window, lambda: drag(window.editor.major, tuple(means[1] + axis)))
    after = c.current.params
    np.testing.assert_allclose(marginal(after, (2, 3))[1][1],
                               np.outer(axis, axis) + np.linalg.eigvalsh(covs[1])[0] * np.outer([-1, 1], [-1, 1]) / 2,
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(after.covariances[1][:2, :2], before.covariances[1][:2, :2], rtol=1e-10)


def test_a_model_change_after_an_edit_is_no_fall(window, qtbot):
    """Changing the covariance model and then editing lets Run go on from the edit with the new
    model: that first iteration changes the model, so the check does not call its drop a fault."""
    c = _fitted(window, qtbot, "elongated.csv", k=2)
    window.controls.covariance.setCurrentIndex(window.controls.covariance.findData("spherical"))
    window.editor.select(0)
    _edit(qtbot, window, window.edits.toggle_freeze)
    _edit(qtbot, window, window.edits.toggle_freeze)
    wait_outcome(qtbot, window, window.requests.run)
    kinds = [(f.kind, f.params.covariance_type) for f in c.history]
    assert ("iteration", "spherical") in kinds and ("edit", "full") in kinds
    assert window.report.monotone_label.text().startswith("✓")


def test_frozen_flags_belong_to_their_moment_of_the_history(window, qtbot):
    c = _fitted(window, qtbot, "overlapping.csv", k=3, max_iter=6)
    window.editor.select(2)
    _edit(qtbot, window, window.edits.toggle_freeze)
    assert c.frozen.tolist() == [False, False, True]
    window.history.slider.setValue(2)  # before the freeze
    assert c.frozen is None and not window.table.item(2, 0).text().endswith("❄")
    held = c.current.params
    window.controls.max_iter.setValue(40)
    wait_outcome(qtbot, window, window.requests.run)
    assert "edit" not in [f.kind for f in c.history]  # the freeze came later: it was cut
    assert not np.array_equal(c.current.params.means[2], held.means[2])  # so component 3 moved


def test_a_grab_during_a_run_edits_the_newest_iteration(make_window, qtbot):
    window = make_window(pace_index=1)  # 60 iterations a second: frames keep coming
    assert window.files.load_file(sample("overlapping.csv"))
    c = window.controller
    window.controls.tol.set_value(0)
    with qtbot.waitSignal(c.display, timeout=10000):
        window.requests.run()
    qtbot.waitUntil(lambda: len(c.history) > 5, timeout=10000)
    handle = window.editor.mean_handles[1]
    qtbot.waitUntil(handle.isVisible, timeout=5000)
    drag(handle, (handle.pos().x() + 0.5, handle.pos().y()))
    qtbot.waitUntil(lambda: c.state == "idle" and c.current.kind == "edit", timeout=10000)
    edit, before = c.history[-1], c.history[-2]
    others = [0, 2]
    np.testing.assert_array_equal(edit.params.means[others], before.params.means[others])
    np.testing.assert_array_equal(edit.params.covariances, before.params.covariances)
    assert edit.iteration == before.iteration


def test_the_bound_curves_break_at_an_edit(window, qtbot):
    c = _fitted(window, qtbot, "overlapping.csv", k=3, max_iter=3)
    handle = window.editor.mean_handles[0]
    _edit(qtbot, window, lambda: drag(handle, (handle.pos().x() - 1.0, handle.pos().y())))
    wait_outcome(qtbot, window, lambda: window.requests.step("E"))
    assert window.history.label.text().startswith("iteration 4: E-step")
    wait_outcome(qtbot, window, lambda: window.requests.step("M"))
    plot = window.bound_view.plot
    assert np.isnan(plot.log_l_curve.getData()[1]).sum() == 1  # the curve is not drawn across the edit
    assert np.isnan(plot.bound_curve.getData()[1]).sum() == 1
    assert len(plot.edit_lines.getData()[0]) == 3
    assert c.current.kind == "M"


def test_k_follows_an_edit_of_a_file_start(window, qtbot):
    from emstudio.core.em import FitSettings, fit_mixture

    c = _fitted(window, qtbot, "separated.csv", k=3)
    result = fit_mixture(window.dataset.values, FitSettings(k=3, covariance_type="full"))
    from emstudio.core.selection import Cell

    wait_outcome(qtbot, window, lambda: window.requests.load_cell(Cell("full", 3, result, 1, 0)))
    _edit(qtbot, window, lambda: window.edits.add_component_at((0.0, 3.0)))
    assert c.current.params.n_components == 4 and window.controls.k.value() == 4
    assert window.controls.init.currentText() == "file: hand edit"
    settings = window.controls.settings()
    settings.validate()  # K and the start agree
    assert settings.k == 4 and settings.init.n_components == 4


def test_one_key_shortcuts_leave_typing_widgets_alone(window, qtbot):
    c = _fitted(window, qtbot)
    window.editor.select(0)
    combo = window.controls.covariance
    combo.setFocus()
    qtbot.keyClick(combo, QtCore.Qt.Key.Key_F)  # a combo box searches by letter: not "freeze"
    assert c.frozen is None and c.state == "idle"
    window.plot.setFocus()
    _edit(qtbot, window, lambda: qtbot.keyClick(window.plot, QtCore.Qt.Key.Key_F))  # in the plot it freezes
    assert c.frozen.tolist() == [True, False, False]
    button = window.controls.buttons["step_e"]
    button.setFocus()
    _edit(qtbot, window, lambda: qtbot.keyClick(button, QtCore.Qt.Key.Key_Space))  # presses the button: Step E
    assert c.current.kind == "E"


def test_a_grab_while_a_step_is_computed_is_refused(window, qtbot):
    c = _fitted(window, qtbot)
    handle = window.editor.mean_handles[0]
    start = (handle.pos().x(), handle.pos().y())
    c._set_state("stepping")  # as while the worker computes a step
    drag(handle, (start[0] + 2, start[1]))
    assert (handle.pos().x(), handle.pos().y()) == start and not window.editor.dragging
    c._set_state("idle")
    assert [f.kind for f in c.history].count("edit") == 0


def test_a_failed_edit_keeps_redo_and_says_what_failed(window, qtbot):
    c = _fitted(window, qtbot)
    handle = window.editor.mean_handles[0]
    _edit(qtbot, window, lambda: drag(handle, (handle.pos().x() + 1, handle.pos().y())))
    window.edits.undo()
    assert window.actions["redo"].isEnabled()
    before = c.current

    def impossible(X):
        from emstudio.errors import FitError
        raise FitError("no such point")

    _edit(qtbot, window, lambda: window.edits.apply_edit(impossible, "re-seeded component 1"))
    assert c.current is before and window.actions["redo"].isEnabled()
    assert window.banner.label.text() == "Could not make the edit (re-seeded component 1): no such point"
