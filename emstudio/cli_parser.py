"""The ``emstudio`` command's parser: its commands, their options and the options' types
(docs/formats.md, "Command line"). Parsing imports nothing heavy: the commands import what they need.
"""

from __future__ import annotations

import argparse

EXIT_USAGE = 2
PROG = "emstudio"


class _OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (and points at --help)."""

    def error(self, message: str) -> None:  # noqa: D401 - argparse API
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _int_at_least(minimum: int):
    """An argparse type: a whole number ≥ ``minimum``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    return parse


_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number ≥ 0, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = _non_negative_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def _add_factor_options(parser) -> None:
    """--model, --factors, --psi (fit and gui)."""
    factor = parser.add_argument_group("factor models (--model fa|mfa; docs/factor-analysis.md)")
    factor.add_argument("--model", default="gmm", choices=["gmm", "fa", "mfa"],
                        help="gmm: Gaussian mixture (default); fa: factor analysis; mfa: mixture of factor analysers")
    factor.add_argument("--factors", type=_non_negative_int, default=None, metavar="Q",
                        help="latent factors of --model fa|mfa (fewer than the columns; default the --init file's)")
    factor.add_argument("--psi", default=None, choices=["shared", "per-component"],
                        help="--model mfa: one diagonal noise Ψ for all components, or one each (default shared, "
                             "or the --init file's)")


def _covariance_name(text: str) -> str:
    """--covariance: scikit-learn's four names or mclust's model names (any case)."""
    from emstudio.core.params import resolve_covariance_name
    from emstudio.errors import ParameterError

    try:
        return resolve_covariance_name(text)
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


#: The command line's way of running EM (fit, select, plot), each chosen by measurement
#: (benchmarks/bench_select.py; docs/design.md, "Fewer iterations"). The window keeps plain EM and
#: the change rule at 1e-6: its runs are what it teaches.
DEFAULT_ACCELERATE = "squarem"
DEFAULT_CONVERGENCE = "aitken"
DEFAULT_TOL = {"change": 1e-6, "aitken": 1e-8}


def _add_fit_options(parser: argparse.ArgumentParser, restarts_default: int, skip: tuple[str, ...] = (),
                     speed: bool = True) -> None:
    """The fit options; ``speed`` adds --accelerate and --convergence (fit, select, plot: the
    window and animate run plain EM, the curve they show)."""
    group = parser.add_argument_group("fit options")
    add = group.add_argument

    def add_unless_skipped(flag, *args, **kwargs):
        if flag not in skip:
            add(flag, *args, **kwargs)

    group.add_argument = add_unless_skipped
    group.add_argument("--columns", metavar="a,b,...",
                       help="columns of DATA to use, by name or 0-based number (default: every numeric column)")
    group.add_argument("--sheet", metavar="NAME|N",
                       help="the sheet of an Excel workbook to read, by name or 0-based number "
                            "(default: the first sheet holding data)")
    group.add_argument("--k", type=_positive_int, default=None, metavar="K",
                       help="number of components (default 2, or the K of an --init file)")
    group.add_argument("--covariance", default="full", type=_covariance_name, metavar="MODEL",
                       help="covariance model: full, tied, diag, spherical, or one of mclust's EII, VII, EEI, VEI, "
                            "EVI, VVI, EEE, VEE, EVE, VVE, EEV, VEV, EVV, VVV (default full)")
    group.add_argument("--init", default="auto", metavar="METHOD|FILE.json",
                       help="start: auto (hc for the first restart, kmeans-std for the others), hc, kmeans, "
                            "kmeans-std, kmeans-svd, kmeans++, random, random-data, seed-step0, or a "
                            "result/parameter file (default auto)")
    group.add_argument("--restarts", type=_positive_int, default=restarts_default, metavar="N",
                       help=f"starts tried, best log-likelihood kept (default {restarts_default})")
    group.add_argument("--seed", type=_non_negative_int, default=0, metavar="S",
                       help="random seed; same seed, same result (default 0)")
    group.add_argument("--max-iter", type=_non_negative_int, default=500, metavar="N",
                       help="most EM iterations (default 500)")
    if speed:
        group.add_argument("--tol", type=_non_negative_float, default=None, metavar="T",
                           help="stop when the mean per-sample log-likelihood rises by less than T (with "
                                "--convergence aitken: when the gain still to come, as Aitken's estimate says, "
                                "is below T per sample); 0 runs exactly --max-iter iterations (default: "
                                f"{DEFAULT_TOL['aitken']:g} with aitken; {DEFAULT_TOL['change']:g} with change)")
        group.add_argument("--convergence", choices=["change", "aitken"], default=None,
                           help=f"when a run has converged: change (the last iteration's rise is below --tol) or "
                                f"aitken (Aitken's estimate of the final log-likelihood is within --tol) "
                                f"(default {DEFAULT_CONVERGENCE}; change when --tol is given alone)")
        group.add_argument("--accelerate", choices=["none", "squarem"], default=DEFAULT_ACCELERATE,
                           help="none: plain EM; squarem: SQUAREM (Varadhan & Roland 2008), extrapolated EM steps "
                                f"whose log-likelihood never falls (default {DEFAULT_ACCELERATE})")
    else:
        group.add_argument("--tol", type=_non_negative_float, default=None, metavar="T",
                           help="stop when the mean per-sample log-likelihood rises by less than T; "
                                f"0 runs exactly --max-iter iterations (default {DEFAULT_TOL['change']:g})")
    group.add_argument("--reg-covar", type=_non_negative_float, default=1e-6, metavar="R",
                       help="added to every covariance's diagonal after each M-step (default 1e-6)")
    group.add_argument("--prior", default="none", choices=["none", "conjugate"],
                       help="conjugate: MAP-EM under mclust's default conjugate prior (priorControl(): shrinkage "
                            "0.01 to the data's mean, ν = d + 2, scale from the data's variance / K^(2/d)); "
                            "for EII, VII, EEI, EVI, VVI, EEE, VVV (default none)")
    group.add_argument("--standardize", action="store_true",
                       help="fit on z-scored columns (mean 0, standard deviation 1) and report the "
                            "parameters in the data's own units")
    group.add_argument("--classes", metavar="COLUMN",
                       help="a column of known classes (text or integers, by name or 0-based number): "
                            "never fitted; the fit is compared with it (confusion table, adjusted Rand "
                            "index, classification error)")


def build_parser() -> argparse.ArgumentParser:
    from emstudio import __version__

    parser = _OneLineParser(
        prog=PROG,
        description="EM Studio: explore Gaussian-mixture fits made by the EM algorithm.",
        epilog="Run without a command to open the window.",
    )
    parser.add_argument("--version", action="version", version=f"emstudio {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_OneLineParser)

    fit = commands.add_parser("fit", help="fit a Gaussian mixture to a data file",
                              description="Fit a Gaussian mixture to DATA by EM and report it.")
    fit.add_argument("data", metavar="DATA", help="data file (CSV/TSV/text, NPY, NPZ, ...; '-' for standard input)")
    _add_fit_options(fit, restarts_default=1)
    fit.add_argument("--out", metavar="RESULT.json",
                     help="write the result file here ('-' for standard output)")
    fit.add_argument("--labels", metavar="LABELS.csv",
                     help="write each sample's component and responsibilities here ('-' for standard output)")
    fit.add_argument("--quiet", "-q", action="store_true", help="print no summary")
    _add_factor_options(fit)
    from emstudio.cli_dask import add_options as add_engine_options

    add_engine_options(fit, _positive_int, _positive_float)

    from emstudio.cli_select import add_parser as add_select_parser

    select = add_select_parser(commands, _add_fit_options, _positive_int, _non_negative_int)
    add_engine_options(select, _positive_int, _positive_float)

    from emstudio.cli_samples import add_parser as add_samples_parser

    add_samples_parser(commands)

    predict = commands.add_parser(
        "predict", help="components, responsibilities and log density of new data under a fitted model",
        description="Apply a fitted model (a result or selection file) to NEW: each row's component, "
                    "responsibilities and log density. NEW's columns are found by the model's column names.")
    predict.add_argument("data", metavar="NEW", help="data file (CSV/TSV/text, NPY, NPZ, ...; '-' for standard input)")
    predict.add_argument("--model", required=True, metavar="RESULT.json",
                         help="a result file of `emstudio fit` (or a selection file: its best model)")
    predict.add_argument("--labels", metavar="LABELS.csv",
                         help="write each row's component and responsibilities here ('-' for standard output)")
    predict.add_argument("--density", metavar="DENSITY.csv",
                         help="write each row's log density here ('-' for standard output)")
    predict.add_argument("--quiet", "-q", action="store_true", help="print no summary")

    gui = commands.add_parser("gui", help="open the window with DATA (or a saved WORKSPACE.emstudio) loaded",
                              description="Open the EM Studio window, with DATA loaded and these settings, or a "
                                          "workspace saved from the window (File ▸ Save Workspace) as it was.")
    gui.add_argument("data", metavar="DATA", nargs="?", help="a data file, or a workspace file (.emstudio)")
    _add_fit_options(gui, restarts_default=1, skip=("--prior",), speed=False)  # the window fits without a prior
    _add_factor_options(gui)
    add_engine_options(gui, _positive_int, _positive_float)  # --engine dask: data on a cluster in the window
    gui.add_argument("--check", action="store_true",
                     help="load DATA, run the fit to its end, draw the window, print one line and exit (0: it all "
                          "worked): checks an install or the bundle, also with QT_QPA_PLATFORM=offscreen")

    plot = commands.add_parser("plot", help="fit, then write the window's picture (PNG or SVG), headless",
                               description="Fit a Gaussian mixture to DATA and draw the window's picture "
                                           "(data coloured by responsibility, 1σ/2σ ellipses) without a window.")
    plot.add_argument("data", metavar="DATA", help="data file (CSV/TSV/text, NPY, NPZ, ...; '-' for standard input)")
    _add_fit_options(plot, restarts_default=1, skip=("--classes",))
    plot.add_argument("--out", metavar="PICTURE.png|.svg", required=True, help="the picture to write")
    plot.add_argument("--axes", metavar="X,Y", help="the two columns to draw when d > 2 (default the first two)")
    plot.add_argument("--size", metavar="WxH", default="1000x800",
                      help="the PNG's size in pixels (default 1000x800; text and legend grow with it)")
    plot.add_argument("--equal-aspect", action="store_true",
                      help="one unit is as long on both axes (Σ = I draws as a circle)")

    animate = commands.add_parser("animate", help="fit, then write the run as an animation (GIF or MP4), headless",
                                  description="Fit a Gaussian mixture to DATA and write every iteration (sampled "
                                              "when there are many) as a frame of a GIF or MP4: the data coloured "
                                              "by responsibility, each component's 1σ/2σ ellipses in its colour.")
    animate.add_argument("data", metavar="DATA", help="data file (CSV/TSV/text, NPY, NPZ, ...; '-' for standard input)")
    _add_fit_options(animate, restarts_default=1, speed=False)  # every plain EM iteration is a frame
    animate.add_argument("--out", metavar="RUN.gif|.mp4", required=True,
                         help="the animation to write (.mp4 needs ffmpeg)")
    animate.add_argument("--axes", metavar="X,Y", help="the two columns to draw when d > 2 (default the first two)")
    animate.add_argument("--size", metavar="WxH", default="800x640", help="frame size in pixels (default 800x640)")
    animate.add_argument("--fps", type=_positive_float, default=4.0, metavar="F",
                         help="frames per second (default 4; the last frame is held 2 s)")
    animate.add_argument("--frames", type=_int_at_least(2), default=60, metavar="N",
                         help="most frames: every iteration of a short run, early ones first of a long one (default 60)")
    animate.add_argument("--equal-aspect", action="store_true",
                         help="one unit is as long on both axes (Σ = I draws as a circle)")
    return parser
