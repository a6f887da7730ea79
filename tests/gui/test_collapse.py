"""A collapsing component is marked while EM runs, and the three fixes do what they say."""

import json

import numpy as np
import pytest
from PySide6 import QtWidgets

from emstudio.core.numbers import display_eigenvalue
from emstudio.core.params import make_params
from emstudio.gui.controller import Dataset
from tests.gui.conftest import wait_outcome


def _duplicated_cluster(seed=0):
    """200 normal points at (0, 0), 100 at (14, 8), and 30 identical points at (8, 4) between them."""
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(size=(200, 2)), rng.normal(size=(100, 2)) + [14.0, 8.0],
                      np.tile([8.0, 4.0], (30, 1))])


def _on_the_duplicates():
    """A start with component 1 (index 0) sitting on the duplicated points."""
    return make_params([0.3, 0.4, 0.3], [[8.0, 4.0], [-0.5, 0.0], [14.0, 8.0]],
                       [np.eye(2) * 0.01, np.eye(2), np.eye(2)])


def _collapsed(window, qtbot, steps=3, tmp_path=None):
    """Data with a duplicated cluster, a start on the duplicates (File ▸ Import start when
    ``tmp_path`` is given, else controller.start_from) and ``steps`` iterations of EM."""
    window.files.set_dataset(Dataset(_duplicated_cluster(), ("a", "b"), "dup.csv"))
    window.controls.max_iter.setValue(steps)
    window.controls.tol.setText("0")  # exactly ``steps`` iterations
    start = _on_the_duplicates()
    if tmp_path is None:
        wait_outcome(qtbot, window, lambda: window.controller.start_from(start))
    else:
        path = tmp_path / "start.json"
        path.write_text(json.dumps({"weights": start.weights.tolist(), "means": start.means.tolist(),
                                    "covariances": start.covariances.tolist()}))
        wait_outcome(qtbot, window, lambda: window.files.import_start(str(path)))
    assert window.controller.current.collapse == ()  # the start itself is healthy
    wait_outcome(qtbot, window, window.requests.run)
    c = window.controller
    assert c.current.iteration == steps
    return c


def test_a_collapsing_component_is_marked(window, qtbot):
    c = _collapsed(window, qtbot)
    (entry,) = c.current.collapse
    assert entry.component == 0 and abs(entry.smallest_eigenvalue) < 1e-9 and entry.size == pytest.approx(30)
    # frames of the run carry it too (the history the slider scrubs)
    assert c.history[-1].collapse and not c.history[0].collapse
    table = window.table
    assert table.marked == [0]
    assert not table.isColumnHidden(table.LAMBDA_COLUMN)
    assert table.item(0, table.LAMBDA_COLUMN).text() == display_eigenvalue(entry.smallest_eigenvalue)
    assert table.item(0, 2).text() == "30.0"
    assert table.item(0, 1).foreground().color().name() == "#d62728"
    assert table.item(1, table.LAMBDA_COLUMN).text() == ""
    assert "λmin" in table.item(0, 2).toolTip()
    np.testing.assert_allclose(np.column_stack(window.plot.collapse_rings.getData()), [[8.0, 4.0]])  # a red ring on its mean
    bar = window.collapse_bar
    assert bar.isVisible() and "Component 1 is collapsing" in bar.label.text() and "Nₖ = 30.0" in bar.label.text()
    assert bar.remove_button.text() == "Remove component 1" and bar.remove_button.isEnabled()
    menu = window.edits.component_actions(0)
    assert [a.text() for a in menu.actions() if not a.isSeparator()] == [
        "Freeze component 1", "Delete component 1", "Raise reg_covar ×10", "Re-seed component 1"]
    assert [a.text() for a in window.edits.component_actions(1).actions()] == ["Freeze component 2", "Delete component 2"]
    # scrubbing back to the healthy start clears the marks
    window.history.slider.setValue(0)
    assert table.marked == [] and table.isColumnHidden(table.LAMBDA_COLUMN) and not bar.isVisible()
    assert len(window.plot.collapse_rings.getData()[0]) == 0
    window.history.slider.setValue(window.history.slider.maximum())
    assert table.marked == [0] and bar.isVisible()
    QtWidgets.QApplication.processEvents()  # let the layouts settle before the picture
    window.grab().save("/tmp/collapse.png")


def test_remove_component(window, qtbot, tmp_path):
    c = _collapsed(window, qtbot, tmp_path=tmp_path)
    before = c.current.params
    collapsed_at = c.current.iteration
    wait_outcome(qtbot, window, window.collapse_bar.remove_button.click)
    assert c.current.kind == "edit" and c.current.iteration == collapsed_at  # the history goes on
    assert c.current.note == "deleted component 1"
    assert c.current.params.n_components == 2 and window.controls.k.value() == 2
    np.testing.assert_allclose(c.current.params.means, before.means[1:])
    assert c.current.collapse == () and not window.collapse_bar.isVisible()
    window.controls.max_iter.setValue(100)
    assert wait_outcome(qtbot, window, window.requests.run).state in ("converged", "max-iter")
    assert c.history[-1].params.n_components == 2 and c.history[0].iteration == 0
    window.edits.undo()  # and the fix can be undone
    assert c.current.params is before and window.controls.k.value() == 3


def test_reseed_component(window, qtbot):
    c = _collapsed(window, qtbot)
    before = c.current.params
    wait_outcome(qtbot, window, lambda: window.edits.fix_reseed(0))
    after = c.current.params
    assert c.current.kind == "edit" and c.current.note == "re-seeded component 1" and after.n_components == 3
    assert not np.allclose(after.means[0], before.means[0])  # the mean moved
    assert any(np.array_equal(after.means[0], x) for x in window.dataset.values)  # to a data point
    np.testing.assert_allclose(after.means[1:], before.means[1:])
    assert after.weights[0] == pytest.approx(1 / 3)
    window.controls.max_iter.setValue(100)
    assert wait_outcome(qtbot, window, window.requests.run).state in ("converged", "max-iter")


def test_raise_reg_covar_continues_the_fit(window, qtbot, tmp_path):
    c = _collapsed(window, qtbot, tmp_path=tmp_path)
    kept = len(c.history)
    before = c.current.params
    window.controls.max_iter.setValue(8)
    outcome = wait_outcome(qtbot, window, window.collapse_bar.raise_button.click)
    assert outcome.state in ("converged", "max-iter")
    assert window.controls.reg_covar.value() == pytest.approx(1e-5)
    assert c.settings.reg_covar == pytest.approx(1e-5)
    assert c.history[0].iteration == 0 and len(c.history) > kept  # continued, not restarted
    assert c.history[kept].iteration == c.history[kept - 1].iteration + 1
    assert c.history[kept - 1].params is before
    assert len(c.history) - kept >= 2  # the first step measures the new reg_covar: not "converged" yet
    np.testing.assert_allclose(c.current.params.means[0], [8.0, 4.0])  # the same component, continued
    # the collapsed covariance now holds the larger reg_covar
    assert np.linalg.eigvalsh(c.current.params.full_covariances()[0])[0] == pytest.approx(1e-5, rel=1e-3)
