"""The Help menu's windows."""

from __future__ import annotations

from PySide6 import QtWidgets


def about(parent) -> None:
    from emstudio import __version__

    QtWidgets.QMessageBox.about(parent, "About EM Studio",
                                f"EM Studio {__version__}\n\nExplore Gaussian-mixture fits made by the EM "
                                "algorithm: watch the E- and M-steps move the components and climb the "
                                "log-likelihood.")
