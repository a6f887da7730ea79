"""The Derivation tab: six steps of the seeds' argument with the numbers of the state on screen,
equal to the core's, following Step E / Step M."""

import html

import numpy as np
import pytest

from emstudio.core.derivation import derive
from emstudio.gui.derivation import q_source
from emstudio.gui.derivation_text import STEPS, step_html
from tests.gui.conftest import sample, wait_outcome


def _start(qtbot, window):
    assert window.files.load_file(sample("overlapping.csv"))
    window.controls.k.setValue(3)
    window.controls.init.setCurrentIndex(window.controls.init.findData("seed-step0"))
    window.tabs.setCurrentWidget(window.derivation)
    wait_outcome(qtbot, window, window.requests.reinitialise)


def _numbers_of(qtbot, window, kind):
    panel = window.derivation
    wait_outcome(qtbot, window, lambda: window.requests.step(kind))
    c = window.controller
    qtbot.waitUntil(lambda: c.current is not None and c.current.kind == kind, timeout=10000)
    qtbot.waitUntil(lambda: panel.frame is c.current and not panel._busy, timeout=10000)
    return panel.numbers


def test_the_tab_lists_six_steps_and_follows_the_half_steps(window, qtbot):
    _start(qtbot, window)
    panel = window.derivation
    assert panel.steps.count() == 7 and len(STEPS) == 6  # six steps, then the notation
    panel.steps.setCurrentRow(6)
    assert "the first seed" in panel.text.toPlainText() and "θt+1" in panel.text.toPlainText()
    X = window.dataset.values
    e = _numbers_of(qtbot, window, "E")
    c = window.controller
    assert e.q_made_by_previous is None and abs(e.terms.kl) < 1e-9 * abs(e.log_likelihood)
    m = _numbers_of(qtbot, window, "M")
    frame = c.current
    assert frame.kind == "M" and frame is c.history[c.index]
    expected = derive(X, frame.params, c.history[c.index - 1].params, frame.reg_covar)
    assert m.log_likelihood == pytest.approx(frame.log_likelihood, rel=1e-12)
    assert m.terms.expected_complete == pytest.approx(expected.terms.expected_complete, rel=1e-12)
    # The M-step's equations hold on screen: every Nⱼ/πⱼ is λ = n.
    np.testing.assert_allclose(m.lagrange, X.shape[0], rtol=1e-12)
    assert m.log_likelihood_rise >= m.q_rise > 0
    panel.steps.setCurrentRow(3)
    text = panel.text.toPlainText()
    assert "λ = n = 500" in text and "solve the equations" in text
    panel.steps.setCurrentRow(4)
    assert "log L(θ) − log L(θt)" in panel.text.toPlainText().replace("\u200b", "")


def test_at_the_start_the_uniform_bound_shows_and_the_rest_waits_for_a_q(window, qtbot):
    _start(qtbot, window)
    panel = window.derivation
    qtbot.waitUntil(lambda: panel.frame is window.controller.current and not panel._busy, timeout=10000)
    assert panel.numbers.terms is None
    assert panel.numbers.uniform_bound < panel.numbers.log_likelihood
    assert "F(uniform q, θ)" in panel.text.toPlainText()
    panel.steps.setCurrentRow(1)
    assert "no q yet" in panel.text.toPlainText()


def test_q_comes_from_the_state_before_an_m_step():
    class F:
        def __init__(self, kind, params):
            self.kind, self.params = kind, params

    class P:
        n_components = 3

    a, b = P(), P()
    history = [F("start", a), F("M", b), F("edit", b)]
    assert q_source(history, history[0], 0) is None and q_source(history, history[2], 2) is None
    assert q_source(history, F("E", a), 0) is a  # an E-step is not an entry: it follows entry 0
    assert q_source(history, history[1], 1) is a


def test_every_step_renders_without_numbers():
    for step in range(len(STEPS)):
        assert html.escape(STEPS[step][0][3:]) in step_html(step, None)


def test_help_opens_the_derivation_and_the_notation(window):
    window.help.show_derivation(6)
    assert window.tabs.currentWidget() is window.derivation
    assert window.derivation.steps.currentRow() == 6
    assert "Notation" in window.derivation.text.toPlainText()
