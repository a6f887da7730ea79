"""What the Fit panel's Model box offers: the kind of model (Gaussian mixture, factor analysis,
mixture of factor analysers) and, for a mixture, mclust's fourteen covariance models with a
one-line description of each (volume, shape, orientation), grouped as spherical, diagonal and
ellipsoidal; one-dimensional data has E and V only. Pure data and one combobox filler, no EM."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from emstudio.core.models import ALIASES, MCLUST_MODELS

#: The model kinds (combobox data, label, tooltip).
MODEL_KINDS = (
    ("mixture", "Gaussian mixture", "K Gaussian components, each with its own mean and covariance"),
    ("fa", "Factor analysis", "x = μ + Λz + ε with q latent factors z ~ N(0, I) and diagonal noise Ψ: "
                              "the covariance ΛΛᵀ + Ψ has far fewer parameters than a full one"),
    ("mfa", "Factor mixture (MFA)", "A mixture of K factor analysers (Ghahramani & Hinton): each component's "
                                           "covariance is ΛₖΛₖᵀ + Ψ"),
)
#: The starts of the factor models (core.factor.FACTOR_STARTS): data, label, tooltip.
FACTOR_STARTS = {
    "fa": (("pca", "principal components", "Λ from the leading principal components of the data's covariance "
                                           "(probabilistic PCA's solution), Ψ the rest of each column's variance"),
           ("random", "random loadings", "random loadings of the columns' scale, Ψ the columns' variances")),
    "mfa": (("kmeans", "k-means + PCA", "a k-means partition of the standardised data, then each "
                                                     "part's principal components"),
            ("random", "random", "means at random data points, random loadings, Ψ the columns' variances")),
}
PSI_LABELS = (("shared", "shared", "one diagonal Ψ for every component"),
              ("per-component", "per component", "each component has its own diagonal Ψₖ"))

_SKLEARN = {model: name for name, model in ALIASES.items()}  # VVV -> full, …
#: What the window's FitSettings calls each mclust model (scikit-learn's names for its four).
SETTING_NAME = {model: _SKLEARN.get(model, model) for model in MCLUST_MODELS}
GROUPS = (("Spherical", ("EII", "VII")),
          ("Diagonal (axis-aligned)", ("EEI", "VEI", "EVI", "VVI")),
          ("Ellipsoidal", ("EEE", "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV")))
#: One dimension: E and V only (every model is one of them); the settings' names for them.
ONE_D = (("E", "tied", "equal variance", "every component has the same variance σ²"),
         ("V", "full", "variable variance", "each component has its own variance σₖ²"))

_VOLUME = {"E": "equal volume", "V": "variable volume"}
_SHAPE = {"E": "equal shape", "V": "variable shape"}
_ORIENTATION = {"E": "equal orientation", "V": "variable orientation", "I": "axis-aligned"}


def describe(model: str) -> str:
    """One line of an mclust model's volume, shape and orientation: "VEV" → "variable volume,
    equal shape, variable orientation"; "EII" → "equal volume, spherical"."""
    volume, shape, orientation = model
    if shape == "I":
        return f"{_VOLUME[volume]}, spherical"
    return f"{_VOLUME[volume]}, {_SHAPE[shape]}, {_ORIENTATION[orientation]}"


def formula(model: str) -> str:
    """Σₖ of ``model`` in mclust's notation λ D A Dᵀ (subscript k where it varies)."""
    volume, shape, orientation = model
    lam = "λₖ" if volume == "V" else "λ"
    if shape == "I":
        return f"Σₖ = {lam} I"
    a = "Aₖ" if shape == "V" else "A"
    if orientation == "I":
        return f"Σₖ = {lam} {a}"
    d = "Dₖ" if orientation == "V" else "D"
    return f"Σₖ = {lam} {d} {a} {d}ᵀ"


def item_label(model: str) -> str:
    """The chooser's line: "VEV — variable volume, equal shape, variable orientation", scikit-learn's
    name beside the four it has ("VVV · full — …")."""
    alias = _SKLEARN.get(model)
    return f"{model}{f' · {alias}' if alias else ''} — {describe(model)}"


def item_tip(model: str) -> str:
    alias = _SKLEARN.get(model)
    also = f"; scikit-learn calls it {alias}" if alias else ""
    return (f"{formula(model)}: λ the volume, A the shape (diagonal, determinant 1), D the orientation "
            f"(each E equal across components, V variable, I the identity){also}")


def fill_covariances(combo: QtWidgets.QComboBox, one_d: bool) -> None:
    """Fill ``combo`` with the covariance models: a greyed heading before each group, each model
    with its line and tooltip, item data the FitSettings name; in 1-D only E and V."""
    combo.blockSignals(True)
    combo.clear()
    model = QtGui.QStandardItemModel(combo)
    tip_role = QtCore.Qt.ItemDataRole.ToolTipRole
    if one_d:
        for name, setting, words, tip in ONE_D:
            item = QtGui.QStandardItem(f"{name} — {words}")
            item.setData(setting, QtCore.Qt.ItemDataRole.UserRole)
            item.setData(f"{tip} (in one dimension every mclust model is E or V)", tip_role)
            model.appendRow(item)
    else:
        for heading, models in GROUPS:
            head = QtGui.QStandardItem(heading)
            head.setFlags(QtCore.Qt.ItemFlag.NoItemFlags)  # a heading, never chosen
            font = head.font()
            font.setBold(True)
            head.setFont(font)
            model.appendRow(head)
            for name in models:
                item = QtGui.QStandardItem(item_label(name))
                item.setData(SETTING_NAME[name], QtCore.Qt.ItemDataRole.UserRole)
                item.setData(item_tip(name), tip_role)
                model.appendRow(item)
    combo.setModel(model)
    combo.blockSignals(False)


def covariance_index(combo: QtWidgets.QComboBox, covariance_type: str) -> int:
    """The row of ``covariance_type`` in a filled chooser; in 1-D a model of d > 1 finds E or V by
    its volume letter (the row of VVV, full, otherwise)."""
    index = combo.findData(covariance_type)
    if index >= 0:
        return index
    mclust = ALIASES.get(covariance_type, covariance_type)
    one_d = {"E": "tied", "V": "full"}
    if mclust[:1] in one_d:
        index = combo.findData(one_d[mclust[0]])
    return index if index >= 0 else max(combo.findData("full"), 0)


def chosen_models(combo: QtWidgets.QComboBox) -> list[str]:
    """The settings' names of the models the chooser offers, in its order (for tests and docs)."""
    return [combo.itemData(i) for i in range(combo.count()) if combo.itemData(i) is not None]


def fill_factor_starts(combo: QtWidgets.QComboBox, kind: str) -> None:
    """The starts of factor model ``kind`` ("fa" or "mfa"), keeping the one chosen when it is offered."""
    chosen = combo.currentData()
    combo.blockSignals(True)
    combo.clear()
    for i, (name, label, tip) in enumerate(FACTOR_STARTS[kind]):
        combo.addItem(label, name)
        combo.setItemData(i, tip, QtCore.Qt.ItemDataRole.ToolTipRole)
    combo.setCurrentIndex(max(combo.findData(chosen), 0))
    combo.blockSignals(False)


class CovarianceCombo(QtWidgets.QComboBox):
    """The covariance chooser: its list has a line per model, its closed box the name alone (the
    description goes in the note under it, never cut off)."""

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        painter = QtWidgets.QStylePainter(self)
        option = QtWidgets.QStyleOptionComboBox()
        self.initStyleOption(option)
        option.currentText = option.currentText.split(" — ")[0]
        painter.drawComplexControl(QtWidgets.QStyle.ComplexControl.CC_ComboBox, option)
        painter.drawControl(QtWidgets.QStyle.ControlElement.CE_ComboBoxLabel, option)


class ModelBox(QtWidgets.QGroupBox):
    """The Fit panel's Model box: the kind, K, the covariance model (a mixture), the factors q and
    Ψ (factor models); only the rows of the chosen kind are shown."""

    def __init__(self, max_k: int, parent=None) -> None:
        super().__init__("Model", parent)
        self.form = form = QtWidgets.QFormLayout(self)
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.kind = QtWidgets.QComboBox()
        for i, (name, label, tip) in enumerate(MODEL_KINDS):
            self.kind.addItem(label, name)
            self.kind.setItemData(i, tip, QtCore.Qt.ItemDataRole.ToolTipRole)
        self.kind.setToolTip("The model EM fits: a Gaussian mixture, factor analysis, or a mixture of factor "
                             "analysers (docs/factor-analysis.md)")
        form.addRow("Model", self.kind)
        self.k = QtWidgets.QSpinBox()
        self.k.setRange(1, max_k)
        self.k.setValue(3)
        self.k.setToolTip("K, the number of components")
        form.addRow("Components K", self.k)
        self.covariance = CovarianceCombo()
        fill_covariances(self.covariance, one_d=False)
        self.covariance.setCurrentIndex(covariance_index(self.covariance, "full"))
        form.addRow("Covariance", self.covariance)
        self.covariance_note = QtWidgets.QLabel()  # the chosen model's volume, shape and orientation
        self.covariance_note.setWordWrap(True)
        self.covariance_note.setStyleSheet("color: #555;")
        form.addRow(self.covariance_note)
        self.covariance.currentIndexChanged.connect(self._covariance_tip)
        self._covariance_tip()
        self.factors = QtWidgets.QSpinBox()
        self.factors.setRange(0, 1000)  # d − 1 once data is loaded (set_dimension)
        self.factors.setValue(1)
        self.factors.setToolTip("q, the number of latent factors (fewer than the columns)")
        form.addRow("Factors q", self.factors)
        self.psi = QtWidgets.QComboBox()
        for i, (name, label, tip) in enumerate(PSI_LABELS):
            self.psi.addItem(label, name)
            self.psi.setItemData(i, tip, QtCore.Qt.ItemDataRole.ToolTipRole)
        self.psi.setToolTip("The uniquenesses Ψ (diagonal noise): one for all components, or one per component")
        form.addRow("Ψ", self.psi)
        # The covariance list opens as wide as its lines, whatever the column's width.
        self.covariance.view().setMinimumWidth(self.covariance.view().sizeHintForColumn(0) + 24)
        self.show_kind("mixture")

    def show_kind(self, kind: str) -> None:
        mixture = kind == "mixture"
        self.form.setRowVisible(self.k, kind != "fa")
        self.form.setRowVisible(self.covariance, mixture)
        self.form.setRowVisible(self.covariance_note, mixture)
        self.form.setRowVisible(self.factors, not mixture)
        self.form.setRowVisible(self.psi, kind == "mfa")

    def set_dimension(self, d: int) -> None:
        """Data of d columns: E and V only when d = 1 (and no factor model: q < d); q up to d − 1."""
        current = self.covariance.currentData() or "full"
        fill_covariances(self.covariance, one_d=d == 1)
        self.covariance.setCurrentIndex(covariance_index(self.covariance, current))
        self.covariance.view().setMinimumWidth(self.covariance.view().sizeHintForColumn(0) + 24)
        self._covariance_tip()
        kinds = self.kind.model()
        for row in range(1, self.kind.count()):
            kinds.item(row).setEnabled(d > 1)
        if d == 1:
            self.kind.setCurrentIndex(0)
        self.factors.setRange(0, max(d - 1, 0))

    def _covariance_tip(self, *_) -> None:
        text = self.covariance.currentText()
        self.covariance_note.setText(text.split(" — ", 1)[1] if " — " in text else "")
        tip = self.covariance.currentData(QtCore.Qt.ItemDataRole.ToolTipRole)
        self.covariance.setToolTip(f"{self.covariance.currentText()}\n{tip}\n\nCovariance models Σₖ = λₖ Dₖ Aₖ "
                                   "Dₖᵀ (mclust's fourteen): hover an entry for its formula" if tip else "")
