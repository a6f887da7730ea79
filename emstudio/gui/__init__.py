"""The EM Studio window (PySide6 + pyqtgraph). Imported only by ``emstudio gui``/``plot`` and tests."""
