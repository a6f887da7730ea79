"""The window says when two components are identical (issue 10, item 8): EM cannot separate them."""

import json

import numpy as np

from tests.gui.conftest import sample, wait_outcome


def test_identical_components_are_named_in_the_status_line(window, qtbot, tmp_path):
    assert window.files.load_file(sample("separated.csv"))
    mean = window.dataset.values.mean(axis=0).tolist()
    path = tmp_path / "start.json"
    path.write_text(json.dumps({"weights": [0.5, 0.5], "means": [mean, mean],
                                "covariances": [np.eye(2).tolist()] * 2}))
    wait_outcome(qtbot, window, lambda: window.files.import_start(str(path)))
    assert "components 0 and 1 are identical" in window.report.status.text()
    wait_outcome(qtbot, window, window.requests.run)
    assert "components 0 and 1 are identical" in window.report.status.text()
    window.grab().save(str(tmp_path / "identical.png"))


def test_a_healthy_fit_has_no_such_warning(window, qtbot):
    assert window.files.load_file(sample("separated.csv"))
    window.controls.k.setValue(3)
    wait_outcome(qtbot, window, window.requests.run)
    assert "identical" not in window.report.status.text()
