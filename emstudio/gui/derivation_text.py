"""The Derivation view's six steps as rich text, with the numbers of the state on screen.

Pure: a core.derivation.Derivation in, HTML (Qt's rich-text subset) out. The argument follows the
two seeds (docs/why-em-works.md has the same six steps); the words are the program's own.
"""

from __future__ import annotations

import html

import numpy as np

from emstudio.core.derivation import Derivation
from emstudio.core.numbers import format_number

#: (short title, what the step shows) for the step list.
STEPS = (
    ("1  The log of a sum", "Why log L cannot be maximised directly, and any q's lower bound"),
    ("2  log L = F + KL", "The identity in three lines, and why Kⁿ assignments become n·K terms"),
    ("3  KL ≥ 0: the E-step", "Gibbs' inequality and the Lagrange multiplier: q = posterior"),
    ("4  The M-step's equations", "∂F/∂μ, ∂F/∂σ², ∂F/∂π with λ on the data on screen"),
    ("5  Any rise of Q will do", "log L(θ) − log L(θₜ) ≥ Q(θ | θₜ) − Q(θₜ | θₜ): generalised EM"),
    ("6  What EM does not promise", "A local optimum, saddles, an unbounded likelihood"),
)
#: The page after the six steps: the seeds' symbols against the program's.
NOTATION = ("Notation", "The two seeds' symbols beside the program's")

#: (what, the program, the first seed, the second seed)
NOTATION_ROWS = (
    ("the data", "x<sub>1</sub> … x<sub>n</sub>", "<b>x</b>", "y"),
    ("the hidden labels", "z<sub>i</sub> ∈ {1 … K}", "<b>z</b>", "z"),
    ("θ before the step", "θ<sub>t</sub>", "θ<sub>0</sub>, θ<sup>(t)</sup>", "θ<sup>t−1</sup>"),
    ("θ after the M-step", "θ<sub>t+1</sub>", "θ<sup>(t+1)</sup>", "θ<sup>t</sup>"),
    ("the E-step's distribution over labels", "q, q<sub>ik</sub> = p(z<sub>i</sub> = k | x<sub>i</sub>, θ<sub>t</sub>)",
     "p<sub><b>z</b></sub> = P<sub>θ<sub>0</sub></sub>(<b>z</b> | <b>x</b>) (its r, any distribution, chosen = p)",
     "q<sup>t</sup>(z) = p(z | y, θ<sup>t−1</sup>)"),
    ("the posterior under the new θ", "p(z | x, θ)", "q<sub><b>z</b></sub> = P<sub>θ</sub>(<b>z</b> | <b>x</b>)",
     "p(z | y, θ)"),
    ("the lower bound", "F(q, θ) = Q(θ | θ<sub>t</sub>) + Ent(q)", "—", "𝓕(q, θ)"),
    ("the entropy of q", "Ent(q)", "—", "H(q)"),
    ("the first seed's second term", "H(θ | θ<sub>t</sub>) = Ent(q) + KL", "H(θ | θ<sub>0</sub>)", "—"),
    ("the gap", "KL(q ‖ p(z | x, θ))", "KL(p ‖ q) in its letters", "KL(q ‖ p)"),
    ("a component", "k = 1 … K: π<sub>k</sub>, μ<sub>k</sub>, Σ<sub>k</sub>", "k = 1 … K",
     "j = 1 … k: π<sub>j</sub>, μ<sub>j</sub>, σ<sub>j</sub><sup>2</sup>"),
    ("step 0", "π<sub>k</sub> = 1/K, Σ<sub>k</sub> = I (d × d, in the data's units), means from K-means",
     "the same (its “K × K” identity is a slip: Σ is d × d)", "—"),
)

STYLE = """<style>
h3 { color: #1f3b63; margin-bottom: 2px; }
.formula { font-family: 'DejaVu Serif', 'Cambria Math', 'STIX Two Math', serif; font-size: 12.5pt;
           background: #f4f6fa; border: 1px solid #dde2ea; padding: 6px; margin: 6px 0; }
.num { font-family: 'DejaVu Sans Mono', monospace; }
.note { color: #555; }
td { padding: 1px 8px 1px 0; }
</style>"""


def _n(value, digits: int = 7) -> str:
    return f"<span class='num' style='white-space: nowrap'>{format_number(value, digits)}</span>"


def _formula(text: str) -> str:
    return f"<div class='formula'>{text}</div>"


def _rows(rows) -> str:
    # nowrap: a number is never broken over two lines (the table scrolls sideways instead).
    return ("<table cellspacing='0'>" + "".join("<tr>" + "".join(f"<td style='white-space: nowrap'>{c}</td>" for c in row) + "</tr>"
                                                for row in rows) + "</table>")


def _no_q(step: str) -> str:
    return (f"<p class='note'>There is no q yet at this state (a start or a hand edit): Step E (E) sets "
            f"q = p(z | x, θ) and the numbers of {step} appear.</p>")


def notation_html() -> str:
    """The seeds' symbols beside the program's (the first seed is the blog-style derivation from the
    log-likelihood, the second the lower-bound notes)."""
    head = ["<b>what</b>", "<b>EM Studio</b>", "<b>the first seed</b>", "<b>the second seed</b>"]
    rows = "".join("<tr>" + "".join(f"<td style='padding: 2px 10px 2px 0'>{c}</td>" for c in row) + "</tr>"
                   for row in (head, *NOTATION_ROWS))
    return (STYLE + "<h3>Notation: the seeds' symbols and the program's</h3>"
            "<p>The first seed writes p and q the other way round from the program, and its r is the program's q; "
            "the second seed numbers the step that makes q<sup>t</sup> from θ<sup>t−1</sup>, where the program "
            "goes from θ<sub>t</sub> to θ<sub>t+1</sub>.</p>"
            f"<table cellspacing='0'>{rows}</table>")


def step_html(step: int, numbers: Derivation | None, columns=(), axis: int = 0) -> str:
    """The HTML of step ``step`` (0…5; 6 is the notation) with ``numbers`` of the state on screen
    (None: no fit yet). ``axis``: the column whose means and variances step 4 writes out."""
    if step >= len(STEPS):
        return notation_html()
    title = STEPS[step][0][3:]
    body = [STYLE, f"<h3>{step + 1}. {html.escape(title)}</h3>"]
    body.append([_step1, _step2, _step3, _step4, _step5, _step6][step](numbers, columns, axis))
    return "".join(body)


def _step1(d: Derivation | None, columns, axis) -> str:
    text = ["<p>The log-likelihood of a mixture is a log of a sum:</p>",
            _formula("log L(θ) = Σ<sub>i</sub> log Σ<sub>k</sub> π<sub>k</sub> N(x<sub>i</sub> | μ<sub>k</sub>, "
                     "Σ<sub>k</sub>)"),
            "<p>Setting its derivatives to zero ties every component to every other through the sum inside "
            "the log: there is no closed form. The first seed's way out: for each point take any weights "
            "q<sub>ik</sub> ≥ 0 with Σ<sub>k</sub> q<sub>ik</sub> = 1, write the inner sum as an average under "
            "them, and move the log inside by Jensen's inequality (log is concave):</p>",
            _formula("log Σ<sub>k</sub> q<sub>ik</sub> · π<sub>k</sub>N(x<sub>i</sub>|θ<sub>k</sub>) / "
                     "q<sub>ik</sub> &nbsp;≥&nbsp; Σ<sub>k</sub> q<sub>ik</sub> log [π<sub>k</sub>N(x<sub>i</sub>|"
                     "θ<sub>k</sub>) / q<sub>ik</sub>]"),
            "<p>Summed over the points, the right side is F(q, θ): a lower bound on log L(θ) for "
            "<i>any</i> q. The first try, uniform weights q<sub>ik</sub> = 1/K, gives a bound that is far "
            "too low:</p>"]
    if d is None:
        text.append("<p class='note'>Open data and start a fit to see the numbers.</p>")
        return "".join(text)
    k = d.params.n_components
    text.append(_rows([["log L(θ)", _n(d.log_likelihood)],
                       [f"F(uniform q, θ), q<sub>ik</sub> = 1/{k}", _n(d.uniform_bound)],
                       ["the gap, KL(uniform q ‖ p(z | x, θ))", _n(d.uniform_gap) + " ≥ 0"]]))
    text.append("<p>Which q makes the bound touch log L? Step 3 answers: the posterior.</p>")
    return "".join(text)


def _step2(d: Derivation | None, columns, axis) -> str:
    text = ["<p>For one point and its label z (drop the i): Bayes' rule, p(z | x, θ) = p(x, z | θ) / "
            "p(x | θ), gives log p(x | θ) = log p(x, z | θ) − log p(z | x, θ) for every z. Add and subtract "
            "log q(z):</p>",
            _formula("log p(x | θ) = [log p(x, z | θ) − log q(z)] + [log q(z) − log p(z | x, θ)]"),
            "<p>and average both sides under q(z) (the left side does not depend on z):</p>",
            _formula("log L(θ) = F(q, θ) + KL(q ‖ p(z | x, θ)), &nbsp; F(q, θ) = Q(θ | θ<sub>t</sub>) + "
                     "Ent(q)"),
            "<p>with Q(θ | θ<sub>t</sub>) = Σ<sub>i,k</sub> q<sub>ik</sub> log π<sub>k</sub>N(x<sub>i</sub>|"
            "θ<sub>k</sub>) and Ent(q) = −Σ<sub>i,k</sub> q<sub>ik</sub> log q<sub>ik</sub>. Over all n points "
            "the labels z = (z<sub>1</sub>…z<sub>n</sub>) have K<sup>n</sup> values; but the posterior "
            "factorises over the points, p(z | x, θ) = Π<sub>i</sub> p(z<sub>i</sub> | x<sub>i</sub>, θ), and "
            "for any q that factorises the same way the sums over K<sup>n</sup> assignments become sums of "
            "n·K terms.</p>"]
    if d is None:
        return "".join(text)
    text.append(_rows([["assignments K<sup>n</sup>", f"10<sup>{d.log10_assignments:,.0f}</sup>"],
                       ["terms n·K", f"{d.n_samples * d.params.n_components:,}"]]))
    if d.terms is None:
        return "".join(text) + _no_q("this identity")
    t = d.terms
    text.append(_rows([["Q(θ | θ<sub>t</sub>)", _n(t.expected_complete)], ["Ent(q)", _n(t.entropy)],
                       ["F = Q + Ent", _n(t.lower_bound)], ["KL = log L − F", _n(t.kl, 4)],
                       ["F + KL", _n(t.lower_bound + t.kl)], ["log L(θ)", _n(t.log_likelihood)]]))
    return "".join(text)


def _step3(d: Derivation | None, columns, axis) -> str:
    text = ["<p>KL(q ‖ p) = Σ q log(q / p) ≥ 0, zero only when q = p. By Jensen's inequality "
            "(−log is convex): −Σ q log(p / q) ≥ −log Σ q (p / q) = −log Σ p = 0 — Gibbs' inequality. "
            "The second seed's appendix reaches it with a Lagrange multiplier λ for Σ q = 1:</p>",
            _formula("∂/∂q [Σ q log(q/p) + λ(1 − Σ q)] = log(q/p) + 1 − λ = 0 &nbsp;⇒&nbsp; "
                     "q = e<sup>λ−1</sup> p, &nbsp; Σ q = 1 ⇒ λ = 1, q = p"),
            "<p>and the second derivative 1/q &gt; 0 makes it a minimum, of value KL(p ‖ p) = 0. So for "
            "fixed θ the best q — the one that lifts F up to log L — is the posterior "
            "q<sub>ik</sub> = p(z<sub>i</sub> = k | x<sub>i</sub>, θ): that is the <b>E-step</b>. "
            "The M-step then maximises F over θ with q fixed: EM is coordinate ascent on F.</p>"]
    if d is None:
        return "".join(text)
    rows = [["KL(uniform q ‖ p(z | x, θ))", _n(d.uniform_gap, 4)]]
    if d.terms is not None:
        rows.append(["KL(q ‖ p(z | x, θ)) of the state on screen", _n(d.terms.kl, 4)])
    text.append(_rows(rows))
    if d.terms is not None:
        if d.q_made_by_previous is None:
            text.append("<p>Right after an E-step q is the posterior of this θ: KL = 0 up to rounding.</p>")
        else:
            text.append("<p>After an M-step q is the posterior of the <i>previous</i> θ: KL has opened; the "
                        "next E-step closes it.</p>")
    else:
        text.append(_no_q("this step"))
    return "".join(text)


def _step4(d: Derivation | None, columns, axis) -> str:
    name = html.escape(columns[axis]) if axis < len(columns) else "x"
    text = ["<p>With q fixed, set F's derivatives to zero. The second seed's 1-D example, for each "
            f"component j (here on the column <b>{name}</b>; with d &gt; 1 the same holds per column and "
            "for the covariances), N<sub>j</sub> = Σ<sub>i</sub> q<sub>ij</sub>:</p>",
            _formula("∂F/∂μ<sub>j</sub> = Σ<sub>i</sub> q<sub>ij</sub> (x<sub>i</sub> − μ<sub>j</sub>) / "
                     "σ<sub>j</sub><sup>2</sup> = 0 &nbsp;⇒&nbsp; μ<sub>j</sub> = Σ<sub>i</sub> q<sub>ij</sub> "
                     "x<sub>i</sub> / N<sub>j</sub><br>"
                     "∂F/∂σ<sub>j</sub><sup>2</sup> = Σ<sub>i</sub> q<sub>ij</sub> [(x<sub>i</sub> − "
                     "μ<sub>j</sub>)<sup>2</sup>/(2σ<sub>j</sub><sup>4</sup>) − 1/(2σ<sub>j</sub><sup>2</sup>)] = 0 "
                     "&nbsp;⇒&nbsp; σ<sub>j</sub><sup>2</sup> = Σ<sub>i</sub> q<sub>ij</sub> (x<sub>i</sub> − "
                     "μ<sub>j</sub>)<sup>2</sup> / N<sub>j</sub><br>"
                     "∂[F + λ(1 − Σ<sub>j</sub> π<sub>j</sub>)]/∂π<sub>j</sub> = N<sub>j</sub>/π<sub>j</sub> − λ = 0 "
                     "&nbsp;⇒&nbsp; π<sub>j</sub> = N<sub>j</sub>/λ; &nbsp; Σ<sub>j</sub> π<sub>j</sub> = 1 ⇒ "
                     "λ = Σ<sub>j</sub> N<sub>j</sub> = n, &nbsp; π<sub>j</sub> = N<sub>j</sub>/n"),
            "<p>(The seed stops at the π derivative; the last line finishes it.) Below: θ on screen (μ<sub>j</sub>, "
            "σ<sub>j</sub><sup>2</sup>, π<sub>j</sub>) beside what the equations give for this q.</p>"]
    if d is None:
        return "".join(text)
    if d.terms is None:
        return "".join(text) + _no_q("these equations")
    m, p = d.m_step, d.params
    lagrange = d.lagrange
    rows = [["<b>j</b>", "<b>N<sub>j</sub></b>", "<b>π<sub>j</sub></b>", "<b>N<sub>j</sub>/π<sub>j</sub></b>",
             "<b>μ<sub>j</sub></b>", "<b>Σ q x / N<sub>j</sub></b>", "<b>σ<sub>j</sub><sup>2</sup></b>",
             "<b>Σ q (x − μ)² / N<sub>j</sub></b>"]]
    on_screen_var = p.full_covariances()[:, axis, axis]
    m_var = m.full_covariances()[:, axis, axis]
    for j in range(p.n_components):
        rows.append([str(j + 1), _n(d.component_sizes[j], 6), _n(p.weights[j], 5), _n(lagrange[j], 6),
                     _n(p.means[j, axis], 6), _n(m.means[j, axis], 6), _n(on_screen_var[j], 6), _n(m_var[j], 6)])
    text.append(_rows(rows))
    reg = f" (+ reg_covar = {format_number(d.reg_covar, 3)}, added by the M-step)" if d.reg_covar > 0 else ""
    stationary = (np.allclose(m.means, p.means, rtol=1e-9, atol=1e-12)
                  and np.allclose(m.weights, p.weights, rtol=1e-9, atol=0)
                  and np.allclose(m.full_covariances(), p.full_covariances(), rtol=1e-8, atol=1e-12))
    if stationary:
        text.append(f"<p>θ on screen is the M-step's θ for this q: every N<sub>j</sub>/π<sub>j</sub> equals "
                    f"λ = n = {d.n_samples:,}, and the means and variances solve the equations{reg}.</p>")
    else:
        text.append("<p>θ on screen does not solve these equations for this q (q is new, or θ was set by "
                    f"hand): the next M-step moves it to the right-hand columns{reg}.</p>")
    return "".join(text)


def _step5(d: Derivation | None, columns, axis) -> str:
    text = ["<p>The first seed's form of the identity: log L(θ) = Q(θ | θ<sub>t</sub>) + H(θ | θ<sub>t</sub>) "
            "with H(θ | θ<sub>t</sub>) = −Σ<sub>i,k</sub> q<sub>ik</sub> log p(z<sub>i</sub>=k | x<sub>i</sub>, θ) "
            "(= Ent(q) + KL). Gibbs' inequality gives H(θ | θ<sub>t</sub>) ≥ H(θ<sub>t</sub> | θ<sub>t</sub>), "
            "so</p>",
            _formula("log L(θ) − log L(θ<sub>t</sub>) &nbsp;≥&nbsp; Q(θ | θ<sub>t</sub>) − Q(θ<sub>t</sub> | "
                     "θ<sub>t</sub>)"),
            "<p>Maximising Q is not needed: any θ that raises Q raises log L at least as much. That is "
            "<i>generalised</i> EM — the M-step with frozen components, and the iterative M-steps of "
            "mclust's VEI, VEE, EVE, VVE and VEV models, are such steps. (With reg_covar &gt; 0 the M-step "
            "maximises Q − (reg/2) Σ<sub>k</sub> N<sub>k</sub> tr Σ<sub>k</sub><sup>−1</sup> instead of Q, and "
            "log L may fall by at most that penalty's change.)</p>"]
    if d is None:
        return "".join(text)
    if d.terms is None:
        return "".join(text) + _no_q("this inequality")
    if d.q_made_by_previous is None:
        text.append("<p class='note'>Right after an E-step θ = θ<sub>t</sub>: both sides are 0. Step M (M) to "
                    "see the inequality at work.</p>")
    text.append(_rows([["log L(θ) − log L(θ<sub>t</sub>)", _n(d.log_likelihood_rise, 5)],
                       ["Q(θ | θ<sub>t</sub>) − Q(θ<sub>t</sub> | θ<sub>t</sub>)", _n(d.q_rise, 5)],
                       ["the difference, H(θ | θ<sub>t</sub>) − H(θ<sub>t</sub> | θ<sub>t</sub>)",
                        _n(d.log_likelihood_rise - d.q_rise, 4)]]))
    return "".join(text)


def _step6(d: Derivation | None, columns, axis) -> str:
    return ("<p>EM never lowers log L (for an exact M-step, reg_covar = 0) — and that is all it promises:</p>"
            "<ul><li><b>A rising log L is not the maximum-likelihood estimate.</b> EM stops at a stationary "
            "point near its start; another start may end higher. The <i>Restarts</i> of the Fit column run "
            "several starts and keep the best; the Log-likelihood panel draws every restart's curve.</li>"
            "<li><b>A stationary point may be a saddle</b>, where EM can creep for many iterations with a "
            "tiny rise per step (watch the change per sample in the status bar).</li>"
            "<li><b>A Gaussian mixture's likelihood is unbounded.</b> A component centred on one point whose "
            "variance shrinks to 0 sends log L to +∞: such a <i>collapsing</i> component is marked with a "
            "red ring and row, and the bar under the table offers the fixes (raise reg_covar, remove, "
            "re-seed). reg_covar keeps every covariance away from 0 at the price of the small falls of "
            "step 5.</li></ul>"
            "<p>Choosing K and the covariance model is a separate question: <i>Choose K and model</i> compares "
            "fits by BIC, AIC or ICL.</p>")
