"""Known classes in the window: choosing the column, the point shapes, the panel following the fit."""

from __future__ import annotations

import numpy as np
import pytest

from tests.gui.conftest import wait_outcome


def _write_classes_csv(tmp_path, n_per=60, seed=0):
    """Three separated groups with a species column (and a few rows without one)."""
    rng = np.random.default_rng(seed)
    centres = {"setosa": (0, 0), "versicolor": (8, 0), "virginica": (4, 8)}
    lines = ["x,y,species"]
    for name, (cx, cy) in centres.items():
        for i in range(n_per):
            label = "NA" if i == 0 else name
            lines.append(f"{cx + rng.normal():.4f},{cy + rng.normal():.4f},{label}")
    path = tmp_path / "groups.csv"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _finish(qtbot, window, k=3):
    window.controls.k.setValue(k)
    return wait_outcome(qtbot, window, window.requests.run)


def test_choosing_a_text_column_shapes_points_and_compares(window, qtbot, tmp_path):
    link = window.known_classes
    assert window.files.load_file(_write_classes_csv(tmp_path))
    assert window.dataset.columns == ("x", "y")
    assert link.columns() == ["species"]
    assert not link.dock.isVisible()
    assert link.choose("species")
    assert link.dock.isVisible()
    symbols = window.plot.scatter.data["symbol"]
    assert set(symbols[1:60]) == {"o"} and set(symbols[61:120]) == {"s"} and set(symbols[121:]) == {"t"}
    assert symbols[0] == "o"  # NA: no class, a dot
    _finish(qtbot, window)
    qtbot.waitUntil(lambda: link.comparison is not None and "iteration" in link.panel.summary.text())
    comparison = link.comparison
    assert comparison.ari == pytest.approx(1.0) and comparison.error == 0.0
    assert comparison.n_compared == 177 and comparison.n_without_class == 3
    panel = link.panel
    assert panel.table.rowCount() == 3 and panel.table.columnCount() == 3
    assert [panel.table.horizontalHeaderItem(j).text() for j in range(3)] == ["1", "2", "3"]
    counts = np.array([[int(panel.table.item(i, j).text()) for j in range(3)] for i in range(3)])
    assert (np.sort(counts, axis=1)[:, -1] == 59).all()
    assert "Adjusted Rand index <b>1.0000</b>" in panel.summary.text()


def test_the_panel_follows_the_history(window, qtbot, tmp_path):
    link = window.known_classes
    window.files.load_file(_write_classes_csv(tmp_path))
    link.choose("species")
    _finish(qtbot, window)
    qtbot.waitUntil(lambda: link.comparison is not None)
    final = link.comparison
    window.history.slider.setValue(0)
    qtbot.waitUntil(lambda: "the start" in link.panel.summary.text() or "iteration 0" in link.panel.summary.text())
    assert link.comparison is not None and link.comparison.table.sum() == final.table.sum()


def test_no_classes_clears_the_shapes(window, qtbot, tmp_path):
    link = window.known_classes
    window.files.load_file(_write_classes_csv(tmp_path))
    link.choose("species")
    assert link.choose(None)
    assert set(window.plot.scatter.data["symbol"]) == {"o"}
    assert link.classes is None and not link.panel.table.isVisible()


def test_classes_given_when_opening(window, qtbot, tmp_path):
    path = tmp_path / "wine.csv"
    rng = np.random.default_rng(1)
    rows = [f"{t},{rng.normal() + 5 * t:.3f},{rng.normal():.3f}" for t in (1, 2) for _ in range(30)]
    path.write_text("type,a,b\n" + "\n".join(rows) + "\n")
    assert window.files.load_file(str(path), classes="type")
    qtbot.waitUntil(lambda: window.known_classes.classes is not None)
    link = window.known_classes
    assert window.dataset.columns == ("a", "b")
    assert link.classes.names == ("1", "2") and link.dock.isVisible()
    _finish(qtbot, window, k=2)
    qtbot.waitUntil(lambda: link.comparison is not None)
    assert link.comparison.table.shape == (2, 2)


def test_new_data_forgets_the_classes(window, qtbot, tmp_path):
    from tests.gui.conftest import sample

    link = window.known_classes
    window.files.load_file(_write_classes_csv(tmp_path))
    link.choose("species")
    window.files.load_file(sample("separated.csv"))
    qtbot.waitUntil(lambda: link.classes is None)
    assert link.columns() == [] and set(window.plot.scatter.data["symbol"]) == {"o"}


def test_large_data_is_compared_off_the_window_thread(window, qtbot, tmp_path, monkeypatch):
    from emstudio.gui import classes

    monkeypatch.setattr(classes, "SYNC_ROWS", 10)
    link = window.known_classes
    window.files.load_file(_write_classes_csv(tmp_path))
    link.choose("species")
    _finish(qtbot, window)
    qtbot.waitUntil(lambda: link.comparison is not None and link.comparison.ari == pytest.approx(1.0))


def test_view_menu_offers_known_classes(window):
    from PySide6 import QtWidgets

    view = next(m for m in window.menuBar().findChildren(QtWidgets.QMenu) if m.title().replace("&", "") == "View")
    assert window.known_classes.action in view.actions()


def test_labels_export_has_row_ids_and_values_as_read(window, qtbot, tmp_path):
    path = tmp_path / "cars.csv"
    path.write_text(',mpg,wt\n"Mazda RX4",21.0,2.620\n"Datsun 710",22.8,2.32\n"Valiant",18.1,3.460\n'
                    '"Duster",14.3,3.57\n"Merc 240D",24.4,3.19\n"Fiat 128",32.4,2.2\n')
    assert window.files.load_file(str(path))
    _finish(qtbot, window, k=2)
    out = tmp_path / "labels.csv"
    assert window.exporter.export_labels(str(out))
    lines = out.read_text().splitlines()
    assert lines[0] == "row,mpg,wt,component,p1,p2"
    assert lines[1].startswith("Mazda RX4,21.0,2.620,") and lines[3].startswith("Valiant,18.1,3.460,")
