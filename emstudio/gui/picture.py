"""The window's picture drawn headless, for ``emstudio plot`` (no window is shown)."""

from __future__ import annotations

import os

import numpy as np


def render_picture(values: np.ndarray, columns, params, out: str, *, title: str = "",
                   axes: tuple[int, int] | None = None, size=(1000, 800)) -> None:
    """Draw data coloured by responsibility with the components of ``params`` and write PNG/SVG."""
    from PySide6 import QtCore, QtWidgets

    if QtWidgets.QApplication.instance() is None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # headless, whatever display there is
    from emstudio.gui.app import application

    app = application()
    from emstudio.gui.controller import FRAME_INTERVAL_MS  # noqa: F401 - same package, same look
    from emstudio.gui.export import write_picture
    from emstudio.gui.views import MixturePlot
    from emstudio.gui.worker import DataView, Frame

    d = values.shape[1]
    if axes is None:
        axes = (0, 1 if d > 1 else 0)
    plot = MixturePlot()
    plot.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen)
    plot.resize(*size)
    plot.show()  # laid out, never on screen
    plot.set_data(values, columns, axes)
    view = DataView(values, axes)
    frame = Frame(0, "iteration", 0, params, 0.0, values.shape[0], np.zeros(params.n_components))
    plot.show_frame(frame, view.colours(params))
    if title:
        plot.plot_item.setTitle(title, color="#2b2b2b", size="11pt")
    app.processEvents()
    write_picture(out, plot, scale=1.0)
    plot.close()
    plot.deleteLater()
