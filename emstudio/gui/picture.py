"""The one picture renderer: the window's File ▸ Export picture, ``emstudio plot`` and every
frame of ``emstudio animate`` are drawn by :class:`PictureRenderer`, so they look alike: the data
coloured by responsibility, each component in its colour, a title, and the legend off the data.

A picture is laid out at a screen-like size with the requested aspect (at most 1000 px wide) and
then drawn at the requested pixel size, so fonts, lines and the legend grow with the picture
instead of shrinking into a corner of a large one.
"""

from __future__ import annotations

import os

import numpy as np

#: Default picture size in pixels (``plot --size``).
DEFAULT_SIZE = (1000, 800)
#: Widest layout; a larger picture is this layout scaled up.
LAYOUT_WIDTH = 1000
#: Largest side accepted (a 20000 px picture is a mistake, not a wish).
MAX_SIDE = 10000


def parse_size(text: str) -> tuple[int, int]:
    """"WxH" (also "W×H", "W,H") → (W, H) in pixels; ValueError with the reason otherwise."""
    cleaned = str(text).lower().replace("×", "x").replace(",", "x").replace(" ", "")
    parts = cleaned.split("x")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"expected WIDTHxHEIGHT in pixels, e.g. 1600x1200, got {text!r}")
    w, h = int(parts[0]), int(parts[1])
    if not (64 <= w <= MAX_SIDE and 64 <= h <= MAX_SIDE):
        raise ValueError(f"each side must be between 64 and {MAX_SIDE} pixels, got {w}x{h}")
    return w, h


def layout_size(size: tuple[int, int]) -> tuple[tuple[int, int], float]:
    """The size to lay the plot out at for a picture of ``size`` (W, H), and the scale from it to
    the picture: at most LAYOUT_WIDTH wide with the same aspect, never scaled down."""
    w, h = size
    base_w = min(w, LAYOUT_WIDTH)
    scale = w / base_w
    return (base_w, max(1, int(round(h / scale)))), scale


def picture_title(source: str, k: int, covariance_type: str, log_likelihood: float, iteration: int,
                  state: str = "") -> str:
    """The title every picture has: file name (never its folders), model, log L, iteration."""
    from emstudio.core.numbers import format_number

    name = os.path.basename(str(source)) or "data"
    tail = f", {state}" if state else ""
    return (f"{name}: K = {k} {covariance_type}, log L = {format_number(log_likelihood, 6)}, "
            f"iteration {iteration}{tail}")


def _application():
    from PySide6 import QtWidgets

    if QtWidgets.QApplication.instance() is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # headless, whatever display there is
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from emstudio.gui.app import application

    return application()


class PictureRenderer:
    """A mixture plot that is never shown, for pictures of the data and some parameters.

    values (n, d), columns (d names); axes: the two columns drawn (1-D data: (0, 0)).
    """

    def __init__(self, values: np.ndarray, columns, axes: tuple[int, int] | None = None,
                 size: tuple[int, int] = DEFAULT_SIZE, shading: str = "responsibility",
                 equal_aspect: bool = False) -> None:
        from PySide6 import QtCore

        self.app = _application()
        from emstudio.gui.views import MixturePlot
        from emstudio.gui.worker import DataView

        d = values.shape[1]
        if axes is None:
            axes = (0, 1 if d > 1 else 0)
        self.values = values
        self.axes = tuple(axes)
        self.size = tuple(size)
        (base_w, base_h), self.scale = layout_size(self.size)
        self.plot = MixturePlot()
        self.plot.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen)
        self.plot.resize(base_w, base_h)
        self.plot.show()  # laid out, never on screen
        self.plot.set_data(values, columns, self.axes)
        self.plot.set_equal_aspect(equal_aspect)
        self.plot.set_shading(shading)
        self.view = DataView(values, self.axes)
        self.view.shading = shading
        self.app.processEvents()

    def set_view_range(self, x_range, y_range) -> None:
        """Show exactly this part of the data plane (the window's view, for its export)."""
        self.plot.plot_item.setRange(xRange=x_range, yRange=y_range, padding=0)

    def draw(self, params, title: str = "", collapsing=(), frozen=None) -> None:
        """The data coloured by ``params``' responsibilities, its components, the title. ``params``
        may be a factor model's θ (core.factor.FactorParams): its ellipses, and its loading arrows."""
        from emstudio.core.factor import FactorParams
        from emstudio.gui.worker import Frame

        factor = params if isinstance(params, FactorParams) else None
        if factor is not None:
            params = factor.to_mixture()
        frame = Frame(0, "iteration", 0, params, 0.0, self.values.shape[0], np.zeros(params.n_components),
                      factor=factor)
        self.plot.set_frozen(frozen)
        self.plot.show_frame(frame, self.view.colours(params))
        if collapsing:
            self.plot.show_components(params, collapsing)
        self.plot.plot_item.setTitle(title or None, color="#2b2b2b", size="11pt")
        self.app.processEvents()
        self.plot.place_legend()
        self.app.processEvents()

    def image(self):
        """The picture as a QImage of exactly ``size`` pixels."""
        import pyqtgraph.exporters as exporters

        w, h = self.size
        exporter = exporters.ImageExporter(self.plot.scene())
        exporter.parameters()["antialias"] = True
        exporter.parameters()["width"] = w
        exporter.parameters().param("height").setValue(h, blockSignal=exporter.heightChanged)
        return exporter.export(toBytes=True)

    def picture_bytes(self, suffix: str) -> bytes:
        """The picture encoded as ".png" or ".svg"."""
        from PySide6 import QtCore

        from emstudio.errors import EmstudioError

        if suffix == ".svg":
            import pyqtgraph.exporters as exporters

            data = exporters.SVGExporter(self.plot.scene()).export(toBytes=True)
            return bytes(data)
        if suffix != ".png":
            raise EmstudioError("a picture is written as .png or .svg")
        buffer = QtCore.QBuffer()
        buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
        if not self.image().save(buffer, "PNG"):
            raise EmstudioError("the picture could not be encoded as PNG")
        return bytes(buffer.data())

    def write(self, path) -> None:
        """Write the picture as PNG or SVG by the file's suffix (atomically; a device in place)."""
        from emstudio.errors import EmstudioError
        from emstudio.io.atomic import atomic_write_bytes

        suffix = os.path.splitext(str(path))[1].lower()
        if suffix not in (".png", ".svg"):
            raise EmstudioError(f"{os.path.basename(str(path))}: a picture is written as .png or .svg")
        atomic_write_bytes(path, self.picture_bytes(suffix))

    def close(self) -> None:
        self.view.close()
        self.plot.close()
        self.plot.deleteLater()

    def __enter__(self) -> "PictureRenderer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def render_picture(values: np.ndarray, columns, params, out: str, *, title: str = "",
                   axes: tuple[int, int] | None = None, size=DEFAULT_SIZE, equal_aspect: bool = False) -> None:
    """Draw data coloured by responsibility with the components of ``params`` and write PNG/SVG
    (``emstudio plot``)."""
    with PictureRenderer(values, columns, axes, size=size, equal_aspect=equal_aspect) as renderer:
        renderer.draw(params, title)
        renderer.write(out)


def model_label(frame, covariance_type: str) -> str:
    """What a picture title calls the model of ``frame``: the covariance type of a mixture, or the
    factor model with its q (and Ψ for a mixture of factor analysers)."""
    factor = getattr(frame, "factor", None)
    if factor is None:
        return covariance_type
    if factor.n_components == 1:
        return f"factor analysis (q = {factor.n_factors})"
    return f"factor analysers (q = {factor.n_factors}, Ψ {'shared' if factor.psi_shared else 'per component'})"


def title_of_frame(source: str, frame, covariance_type: str, last_iteration: int | None = None) -> str:
    """The picture title of a window state (a Frame): what `emstudio plot` would write."""
    state = "converged" if getattr(frame, "converged", False) else ""
    if not state and last_iteration is not None and frame.iteration < last_iteration:
        state = f"of {last_iteration}"
    return picture_title(source, frame.params.n_components, model_label(frame, covariance_type),
                         frame.log_likelihood, frame.iteration, state)


def export_plot_picture(path, plot, values: np.ndarray, columns, frame, *, title: str = "",
                        size: tuple[int, int] | None = None) -> None:
    """The window's File ▸ Export picture: the state on screen drawn by the same renderer as
    ``emstudio plot`` — the same axes, view range, shading and aspect as ``plot`` (the window's
    MixturePlot), at ``size`` (default twice the plot's size on screen, for print)."""
    if size is None:
        size = (max(64, 2 * plot.width()), max(64, 2 * plot.height()))
    with PictureRenderer(values, columns, plot.axes, size=size, shading=plot.shading,
                         equal_aspect=plot.equal_aspect) as renderer:
        (x0, x1), (y0, y1) = plot.plot_item.getViewBox().viewRange()
        renderer.set_view_range((x0, x1), (y0, y1))
        collapsing = [c.component for c in getattr(frame, "collapse", ())]
        renderer.plot.arrows.rotate = plot.arrows.rotate  # varimax, as on screen
        renderer.draw(getattr(frame, "factor", None) or frame.params, title, collapsing=collapsing, frozen=getattr(frame, "frozen", None))
        renderer.set_view_range((x0, x1), (y0, y1))
        if plot.legend.moved_by_hand:  # where the person put it, in the same place of the view
            renderer.plot.legend.moved_by_hand = True
            renderer.plot.legend.setPos(plot.legend.pos())
        renderer.write(path)


def export_window_picture(window, path, size: tuple[int, int] | None = None) -> None:
    """Hook for the window: its current state as a picture of ``size`` pixels (default: twice the
    plot on screen; see :func:`export_plot_picture`)."""
    frame = window.controller.current
    if frame is None:
        from emstudio.errors import EmstudioError

        raise EmstudioError("nothing fitted yet: run EM first")
    dataset = window.dataset
    history = window.controller.history
    title = title_of_frame(dataset.source, frame, window.controller.settings.covariance_type,
                           history[-1].iteration if history else None)
    export_plot_picture(path, window.plot, dataset.values, dataset.columns, frame, title=title, size=size)
