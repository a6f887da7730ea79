"""The window's model chooser: mclust's fourteen covariance models, and the factor models (factor
analysis, mixtures of factor analysers) run, stepped, drawn and exported like the mixture."""

import json

import numpy as np
import pytest
from PySide6 import QtCore

from emstudio.core.factor import FactorSettings, fit_factor, varimax
from emstudio.core.models import MCLUST_MODELS
from emstudio.gui.model_choice import SETTING_NAME, chosen_models, describe
from tests.gui.conftest import sample, wait_outcome
from tests.gui.test_layout import _clipped


def _load(window, name="four_d.csv"):
    assert window.files.load_file(sample(name))
    return window.dataset.values


def _fa(window, q=2, kind="fa", k=1):
    window.controls.set_kind(kind)
    window.controls.factors.setValue(q)
    if kind == "mfa":
        window.controls.k.setValue(k)


def _run(qtbot, window):
    return wait_outcome(qtbot, window, window.requests.run, timeout=60000)


def test_the_covariance_chooser_offers_the_fourteen_models_with_descriptions(window):
    combo = window.controls.covariance
    offered = chosen_models(combo)
    assert sorted(offered) == sorted(SETTING_NAME[m] for m in MCLUST_MODELS) and len(offered) == 14
    for i in range(combo.count()):
        if combo.itemData(i) is None:  # a group's heading: never chosen
            assert not combo.model().item(i).isEnabled()
            continue
        text = combo.itemText(i)
        name = text.split(" ")[0]
        assert name in MCLUST_MODELS and text.endswith(describe(name))
        assert "volume" in text and "Σₖ" in combo.itemData(i, QtCore.Qt.ItemDataRole.ToolTipRole)
    assert combo.itemText(combo.findData("VEV")) == "VEV — variable volume, equal shape, variable orientation"
    assert "· full" in combo.itemText(combo.findData("full"))  # scikit-learn's name beside mclust's
    # the note under the closed box says what the chosen model is
    combo.setCurrentIndex(combo.findData("EVI"))
    assert window.controls.model_box.covariance_note.text() == "equal volume, variable shape, axis-aligned"


def test_one_dimensional_data_offers_e_and_v_only(window):
    _load(window, "one_d.csv")
    combo = window.controls.covariance
    assert [combo.itemText(i).split(" ")[0] for i in range(combo.count())] == ["E", "V"]
    assert window.controls.settings().covariance_type in ("tied", "full")
    assert not window.controls.kind.model().item(1).isEnabled()  # no factor model of one column
    _load(window, "four_d.csv")
    assert len(chosen_models(combo)) == 14


def test_the_chosen_mclust_model_is_the_one_fitted(window, qtbot):
    _load(window)
    window.controls.k.setValue(2)
    window.controls.covariance.setCurrentIndex(window.controls.covariance.findData("VEV"))
    assert _run(qtbot, window).state in ("converged", "max-iter")
    assert window.controller.current.params.covariance_type == "VEV"


def test_factor_analysis_shows_arrows_and_the_loadings_of_core(window, qtbot):
    X = _load(window)
    window.controls.k.setValue(4)
    _fa(window, q=2)
    assert window.factors.dock.isVisible()
    outcome = _run(qtbot, window)
    assert outcome.state == "converged"
    frame = window.controller.current
    assert frame.factor is not None and frame.factor.n_factors == 2
    # The same fit headless: the same start and EM give the same numbers.
    fit = fit_factor(X, FactorSettings(k=1, n_factors=2, init="pca", max_iter=500, tol=1e-6))
    assert frame.iteration == fit.n_iter and frame.log_likelihood == pytest.approx(fit.log_likelihood, rel=1e-10)
    panel = window.factors.panel
    table = panel.cell_values()
    p = fit.params
    np.testing.assert_allclose(table[:, :2], p.loadings[0], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(table[:, 2], p.psi[0], rtol=1e-6)
    np.testing.assert_allclose(table[:, 3], p.communalities()[0], rtol=1e-6)
    assert panel.table.rowCount() == 4 and panel.table.item(0, 0).text() == "a"
    # each factor an arrow from μ to μ + Λ[:, f] on the axes shown (a, b)
    tips = window.plot.arrows.tips()
    np.testing.assert_allclose(tips, p.means[0, :2] + p.loadings[0, :2, :].T, rtol=1e-6)
    # the ellipse is the marginal of ΛΛᵀ + Ψ
    np.testing.assert_allclose(frame.params.covariances[0], p.covariances[0], rtol=1e-6)
    # the latent view: E[z | x] of the rows with the posterior covariance V
    assert window.tabs.isTabVisible(window.factors.latent_tab)
    window.tabs.setCurrentWidget(panel.latent_page)
    assert panel.latent.means.shape == (X.shape[0], 2) and panel.latent.v.shape == (2, 2)
    # factor analysis is one component; the mixture's K is kept for when it is chosen again
    window.controls.set_kind("mixture")
    assert window.controls.k.value() == 4 and window.controller.settings.k == 4


def test_varimax_turns_the_view_not_the_likelihood(window, qtbot):
    _load(window)
    _fa(window, q=2)
    _run(qtbot, window)
    frame = window.controller.current
    log_l = frame.log_likelihood
    panel = window.factors.panel
    assert "does not change the likelihood" in panel.note.text()
    panel.varimax.setChecked(True)
    rotated, _ = varimax(frame.factor.loadings[0])
    np.testing.assert_allclose(panel.cell_values()[:, :2], rotated, atol=1e-9)
    np.testing.assert_allclose(window.plot.arrows.tips(), frame.factor.means[0, :2] + rotated[:2].T, atol=1e-9)
    assert window.controller.current.log_likelihood == log_l
    assert not window.actions["export_labels"].isEnabled()  # one component: no labels (as `fit --model fa`)
    assert window.actions["export_params"].isEnabled() and window.actions["export_picture"].isEnabled()


def test_stepping_factor_analysis_moves_the_bound_panel(window, qtbot):
    _load(window)
    _fa(window, q=1)
    view = window.bound_view
    wait_outcome(qtbot, window, lambda: window.requests.step("E"))
    assert view.series.labels == ("E1",) and view.values["kl"].text() == "≈ 0"
    wait_outcome(qtbot, window, lambda: window.requests.step("M"))
    s = view.series
    assert s.labels == ("E1", "M1") and s.bound[1] > s.bound[0] and s.log_l[1] >= s.log_l[0]
    assert s.bound[1] <= s.log_l[1] + 1e-12
    assert "M-step 1" in view.caption.text()
    assert window.controller.current.factor is not None
    wait_outcome(qtbot, window, lambda: window.requests.step("E"))
    s = view.series
    assert s.labels == ("E1", "M1", "E2") and s.bound[2] == pytest.approx(s.log_l[2], rel=1e-12)
    assert window.controller.history[-1].kind == "M"
    # Run goes on from the step on screen
    _run(qtbot, window)
    assert window.controller.current.iteration > 2
    # Re-initialise: the factor model's start, iteration 0
    wait_outcome(qtbot, window, window.requests.reinitialise)
    current = window.controller.current
    assert current.kind == "start" and current.factor is not None and len(window.controller.history) == 1


def test_restarts_of_a_factor_mixture_keep_the_best(window, qtbot):
    _load(window)
    _fa(window, q=1, kind="mfa", k=3)
    window.controls.factor_init.setCurrentIndex(window.controls.factor_init.findData("random"))
    window.controls.restarts.setValue(3)
    _run(qtbot, window)
    restarts = window.controller.restarts
    assert restarts is not None and len(restarts.curves) == 3
    finals = [curve[1][-1] for curve in restarts.curves]
    assert finals[restarts.kept] == max(finals)
    assert window.controller.current.mean_log_likelihood == pytest.approx(max(finals), rel=1e-12)


def test_a_mixture_of_factor_analysers_draws_and_exports(window, qtbot, tmp_path):
    X = _load(window)
    _fa(window, q=1, kind="mfa", k=3)
    window.controls.psi.setCurrentIndex(window.controls.psi.findData("per-component"))
    assert _run(qtbot, window).state in ("converged", "max-iter")
    frame = window.controller.current
    assert frame.factor.n_components == 3 and not frame.factor.psi_shared
    assert window.plot.arrows.tips().shape == (3, 2)
    assert window.plot.components.k == 3
    assert window.tabs.tabText(0) == "Factor mixture"
    assert not window.actions["add_component"].isEnabled()  # no hand edits of a factor model
    entries = len(window.controller.history)
    assert not window.edits.add_component_at((0.0, 0.0)) and not window.edits.toggle_freeze(0)
    assert not window.controller.edit(frame.params, "by hand")
    assert len(window.controller.history) == entries and window.controller.current is frame
    path = tmp_path / "mfa.json"
    assert window.exporter.export_params(str(path))
    content = json.loads(path.read_text())
    assert content["format"] == "emstudio.factor-mixture" and content["n_factors"] == 1
    assert content["log_likelihood"] == pytest.approx(frame.log_likelihood, rel=1e-9)
    picture = tmp_path / "mfa.png"
    assert window.exporter.export_picture(str(picture)) and picture.stat().st_size > 0
    animation = tmp_path / "mfa.gif"
    assert window.animation_export.export(str(animation)) and animation.stat().st_size > 0
    # back to the Gaussian mixture: the factor views go, Run fits a mixture afresh (K as it was set)
    window.controls.set_kind("mixture")
    assert window.controls.k.value() == 3
    assert not window.factors.dock.isVisible() and not window.tabs.isTabVisible(window.factors.latent_tab)
    _run(qtbot, window)
    assert window.controller.current.factor is None and window.plot.arrows.tips().shape == (0, 2)
    assert X.shape == window.dataset.values.shape


def test_the_window_still_fits_1024_by_700_with_a_factor_model(window, qtbot):
    window.docks.fit_screen(QtCore.QRect(0, 0, 1024, 700))
    _load(window)
    _fa(window, q=2, kind="mfa", k=2)
    window.docks.default_sizes()
    qtbot.wait(50)
    assert window.width() <= 1024 and window.height() <= 700
    assert not _clipped(window)


def test_a_heywood_case_is_flagged_in_the_factors_panel(window, qtbot, tmp_path):
    rng = np.random.default_rng(3)
    z = rng.normal(size=400)
    # column a is the factor itself: EM drives its uniqueness towards 0 (slowly, as EM does)
    X = np.column_stack([z] + [z + rng.normal(size=400) for _ in range(3)])
    path = tmp_path / "heywood.csv"
    np.savetxt(path, X, delimiter=",", header="a,b,c,d", comments="")
    assert window.files.load_file(str(path))
    _fa(window, q=1)
    window.controls.tol.set_value(0)
    window.controls.max_iter.setValue(2000)
    _run(qtbot, window)
    frame = window.controller.current
    assert (0, 0) in frame.heywood
    panel = window.factors.panel
    assert panel.heywood.isVisible() and "Heywood" in panel.heywood.text() and "a" in panel.heywood.text()
    assert panel.table.item(0, 1).foreground().color().name() == "#d62728"
