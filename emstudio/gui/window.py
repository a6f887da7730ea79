"""The EM Studio main window. MainWindow only composes: it makes the views and docks and the parts
that do the work, and each part owns one responsibility (reach a part as ``window.<name>``):

    window.actions   dict of QActions by name (actions.py; the menus are made there too)
    window.files     Files (files.py): Open, reading data, recent files, drag and drop,
                     set_dataset, importing a start file; signal loading_finished
    window.exporter  Exporter (exporter.py): parameters, labels and picture exports;
                     signal export_finished
    window.requests  Requests (requests.py): run, pause, stop, step, re-initialise,
                     start from a selection cell, uncertainty shading
    window.history   HistoryBar (history.py): slider, play, iteration label, the history panels
    window.edits     HandEdits (handedits.py): drags, add/delete/freeze, undo/redo,
                     component menus, collapse fixes
    window.report    Report (status.py): status line, state word, errors, log-L monotonicity
    window.link      WorkerLink (worker_link.py): controller signals → views; on_state
                     enables and disables the actions
    window.docks     Docks (layout.py): the docks, the tabs, sizes that fit the screen, saved layout;
                     docks.split (dock_split.py) keeps the side columns' shares through resizes
    window.help      Help (help.py): keyboard shortcuts, the docs/ pages, About
    window.factors   FactorLink (factor_panel.py): the Factors dock of a factor model
    window.view_options  ViewOptions (view_options.py): View ▸ Equal aspect, the start's θ₀ preview
    window.animation_export  AnimationExport (animation_export.py): File ▸ Export animation…
    window.workspace Workspace (workspace.py): Save/Open Workspace, the title, asking before
                     unsaved work is closed, the autosave (autosave.py)
    window.cluster_link  ClusterLink (cluster_open.py): data on a Dask cluster (opening, banner,
                     what is disabled, closing the cluster)

Shared state stays on the window: ``controller`` (worker → snapshot), ``dataset``, ``store``
(QSettings) and the views (``plot``, ``table``, ``controls``, ``likelihood``, ``bound_view``,
``selection``, ``editor``, ``banner``, ``collapse_bar``, ``welcome``; ``stack`` shows the welcome
page or ``tabs``: the Mixture tab ``plot_page`` and the Choose K and model tab ``selection``).
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from emstudio.core.em import FitSettings
from emstudio.gui import animation_export, cluster_open, factor_panel, main_thread_gc, view_options, workspace
from emstudio.gui.actions import make_actions, make_menus
from emstudio.gui.app import application_icon
from emstudio.gui.bound import BoundPanel
from emstudio.gui.classes import install as install_known_classes
from emstudio.gui.controller import Controller, Dataset
from emstudio.gui.controls import ControlPanel, check_window_settings
from emstudio.gui.derivation import DerivationPanel
from emstudio.gui.editing import ComponentEditor
from emstudio.gui.exporter import Exporter
from emstudio.gui.files import Files
from emstudio.gui.handedits import HandEdits
from emstudio.gui.help import Help
from emstudio.gui.history import HistoryBar
from emstudio.gui.layout import Docks
from emstudio.gui.requests import Requests
from emstudio.gui.selection import SelectionPanel
from emstudio.gui.status import Report
from emstudio.gui.views import LikelihoodPlot, MixturePlot, ParameterTable
from emstudio.gui.widgets import CollapseBar, ErrorBanner, TypingKeys, WelcomePage
from emstudio.gui.worker_link import WorkerLink

__all__ = ["MainWindow", "Dataset", "apply_settings"]


class MainWindow(QtWidgets.QMainWindow):
    """The window. ``settings`` (QSettings) keeps the layout and recent files between starts;
    ``autosave_dir``: the folder of the autosave (autosave.default_folder() for the program;
    None: no autosave)."""

    def __init__(self, settings: QtCore.QSettings | None = None, parent=None, autosave_dir: str | None = None) -> None:
        super().__init__(parent)
        # The window's threads (the EM worker, the autosave's writer) run Python: garbage holding
        # Qt objects is collected on this thread only (gui/main_thread_gc.py).
        main_thread_gc.install(QtWidgets.QApplication.instance())
        self.setWindowTitle("EM Studio")
        self.setWindowIcon(application_icon())
        self.setAcceptDrops(True)
        self.store = settings if settings is not None else QtCore.QSettings("emstudio", "EM Studio")
        self.controller = Controller(self)
        self.dataset: Dataset | None = None
        # Actions first: the parts' widgets show them; an action finds its part when triggered.
        self.actions = make_actions(self)
        self.report = Report(self)
        self.files = Files(self)
        self.exporter = Exporter(self)
        self.requests = Requests(self)
        self.link = WorkerLink(self)
        self.docks = Docks(self)
        self.help = Help(self)

        self.controls = ControlPanel(self.actions)

        # -- centre: welcome page, or the plot (with its history bar) and model selection as tabs
        self.plot = MixturePlot()
        self.editor = ComponentEditor(self.plot.plot_item, self)
        self.banner = ErrorBanner()
        self.history = HistoryBar(self)
        self.plot_page = plot_page = QtWidgets.QWidget()
        plot_layout = QtWidgets.QVBoxLayout(plot_page)
        plot_layout.setContentsMargins(6, 6, 6, 2)
        plot_layout.addWidget(self.plot, 1)
        plot_layout.addLayout(self.history.bar)
        self.welcome = WelcomePage(self.actions["open"])
        self.welcome.chosen.connect(self.files.load_file)
        # Model selection is a tab of its own beside the mixture plot: its criterion plot gets the
        # room of the plot, and choosing a fit there shows it on the Mixture tab.
        self.selection = SelectionPanel(self.controls.settings)
        self.selection.cell_chosen.connect(lambda cell: self.requests.load_cell(cell))
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setDocumentMode(True)
        # Where the centre is narrow (a small screen, many docks) the tab titles shorten ("Choose K…")
        # instead of hiding behind scroll arrows.
        self.tabs.setElideMode(QtCore.Qt.TextElideMode.ElideRight)
        self.tabs.setUsesScrollButtons(False)
        self.tabs.addTab(plot_page, "Mixture")
        self.tabs.addTab(self.selection, "Choose K and model")
        self.tabs.setTabToolTip(1, "Fit a grid of K and covariance models and compare them by BIC, AIC or ICL")
        # The seeds' argument in six steps, with the numbers of the state on screen.
        self.derivation = DerivationPanel()
        self.tabs.addTab(self.derivation, "Derivation")
        self.tabs.setTabToolTip(2, "Why EM's log-likelihood never falls, step by step, with the numbers of this fit")
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(scrolling(self.welcome))  # its sample buttons are wide: never the window's limit
        self.stack.addWidget(self.tabs)
        central = QtWidgets.QWidget()
        central_layout = QtWidgets.QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.banner)
        central_layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        # -- docks
        left, right = QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, QtCore.Qt.DockWidgetArea.RightDockWidgetArea
        # The controls scroll up and down where the screen is short, never sideways: the column is
        # as wide as they need.
        self.controls_scroll = scrolling(self.controls, vertical_only=True)
        self.controls_dock = self.docks.add("Fit", "controls", self.controls_scroll, left)
        self.table = ParameterTable()
        self.collapse_bar = CollapseBar()
        params_widget = QtWidgets.QWidget()
        params_layout = QtWidgets.QVBoxLayout(params_widget)
        params_layout.setContentsMargins(4, 4, 4, 4)
        params_layout.addWidget(self.table, 1)
        params_layout.addWidget(self.collapse_bar)
        # The table scrolls; the collapse bar keeps its height.
        self.collapse_bar.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Minimum)
        self.params_dock = self.docks.add("Parameters", "parameters", params_widget, right)
        self.likelihood = LikelihoodPlot()
        self.likelihood_dock = self.docks.add("Log-likelihood", "likelihood", self.likelihood, right)
        self.bound_view = BoundPanel()
        self.bound_dock = self.docks.add("Lower bound", "bound", scrolling(self.bound_view), right)

        self.edits = HandEdits(self)  # wires the editor, the table and the collapse bar
        make_menus(self)
        # View ▸ Equal aspect and the start's θ₀ preview; File ▸ Export animation… (after the menus:
        # each puts its action in its menu).
        self.view_options = view_options.install(self)
        self.animation_export = animation_export.install(self)
        self.link.connect()
        # Known classes (classes.py): a panel tabbed beside the lower bound, View ▸ Known classes…,
        # points shaped by class; it follows the controller's signals.
        self.known_classes = install_known_classes(self)
        # Factors (factor_panel.py): loadings, uniquenesses, the latent space and varimax, a dock
        # tabbed beside Parameters while a factor model is chosen.
        self.factors = factor_panel.install(self)
        self.workspace = workspace.install(self, autosave_dir)
        # Data on a Dask cluster (cluster_open.py): File ▸ Open on a Dask Cluster…, its banner, its
        # limits, and the cluster closed with the data or the window.
        self.cluster_link = cluster_open.install(self)

        # On the typing widgets themselves, not the whole application: a Python filter on every
        # event of the application cost the window's thread GIL time in every frame of a run.
        self._typing_keys = TypingKeys(self)
        for widget in self.findChildren(QtWidgets.QWidget):
            if isinstance(widget, (*TypingKeys.KEEPERS, QtWidgets.QAbstractButton)):
                widget.installEventFilter(self._typing_keys)

        self.docks.restore()  # the saved layout, or one that fits the screen
        self.link.on_state("empty")

    # ------------------------------------------------------------------ Qt's events, to the parts
    def showEvent(self, event: QtGui.QShowEvent) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.docks.shown()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt API
        if not self.workspace.confirm_discard():
            event.ignore()
            return
        self.workspace.close()
        self.history.stop_play()
        self.docks.save()
        self.selection.shutdown()
        self.controller.shutdown()
        self.cluster_link.shutdown()  # after the worker's thread: no pass is left to use the cluster
        super().closeEvent(event)

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        self.files.drag_enter(event)

    def dropEvent(self, event: QtGui.QDropEvent) -> None:  # noqa: N802 - Qt API
        self.files.drop(event)


def scrolling(widget: QtWidgets.QWidget, vertical_only: bool = False) -> QtWidgets.QScrollArea:
    """``widget`` in a frameless scroll area that gives it all the room there is and scrolls where
    there is less than it needs (``vertical_only``: as wide as the widget needs, never sideways)."""
    scroll = QtWidgets.QScrollArea()
    scroll.setWidget(widget)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
    if vertical_only:
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        bar = scroll.style().pixelMetric(QtWidgets.QStyle.PixelMetric.PM_ScrollBarExtent)
        scroll.setMinimumWidth(widget.minimumSizeHint().width() + bar + 2)
    return scroll


def apply_settings(window: MainWindow, settings: FitSettings) -> None:
    """The command line's settings in the Fit panel, exactly (never clamped to another value)."""
    check_window_settings(settings)
    window.controls.set_settings(settings)
    window.controller.set_settings(window.controls.settings())
