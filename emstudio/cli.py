"""The ``emstudio`` command (docs/formats.md, "Command line").

Imports only what each command needs, so ``emstudio fit`` starts fast and never loads Qt.
Every error ends in one line on standard error and a non-zero exit status, never a traceback
(set EMSTUDIO_DEBUG=1 to see one).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

EXIT_USAGE = 2
EXIT_INTERNAL = 70
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

    add_select_parser(commands, _add_fit_options, _positive_int, _non_negative_int)

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


def _progress_printer(stream, max_iter: int, restarts: int):
    """A snapshot callback that redraws one progress line at most ten times a second."""
    state = {"last": 0.0}

    def show(restart: int, snapshot) -> None:
        now = time.monotonic()
        if now - state["last"] < 0.1 and not snapshot.converged:
            return
        state["last"] = now
        prefix = f"start {restart + 1}/{restarts}  " if restarts > 1 else ""
        stream.write(f"\r{prefix}iteration {snapshot.iteration}/{max_iter}  "
                     f"log L {snapshot.log_likelihood:.6g}\033[K")
        stream.flush()

    return show


def _resolve_init(init: str, covariance_type: str, n_rows: int | None = None):
    from emstudio.core.init import INIT_METHODS
    from emstudio.errors import EmstudioError

    if init in INIT_METHODS:
        return init
    if not os.path.lexists(init):
        raise EmstudioError(f"--init {init!r} is neither a start ({', '.join(INIT_METHODS)}) nor an existing file")
    from emstudio.io.inputs import path_problem
    from emstudio.io.results import read_params_file

    problem = path_problem(init)  # a link loop or a dangling link says so, not "no such file"
    if problem:
        raise EmstudioError(f"--init {init}: {problem}")

    # A file of more components than the data has rows is refused before its matrices are built.
    return read_params_file(init, covariance_type, max_components=n_rows)


def _start_and_k(args, n_rows: int | None = None):
    """The start (a method name or parameters from a file) and K (--k, else the file's, else 2)."""
    from emstudio.errors import EmstudioError

    init = _resolve_init(args.init, args.covariance, n_rows)
    if isinstance(init, str):
        return init, args.k or 2
    if args.k is not None and args.k != init.n_components:
        raise EmstudioError(f"--init {args.init} has {init.n_components} components but --k is {args.k}")
    return init, init.n_components


def stopping_of(args) -> dict:
    """convergence, tol and accelerate of FitSettings from the options: --tol given alone keeps its
    meaning (the change rule); without --convergence and --tol, the default rule and its tol."""
    rule = getattr(args, "convergence", None)
    if rule is None:
        rule = "change" if args.tol is not None or not hasattr(args, "convergence") else DEFAULT_CONVERGENCE
    tol = args.tol if args.tol is not None else DEFAULT_TOL[rule]
    return {"convergence": rule, "tol": tol, "accelerate": getattr(args, "accelerate", "none")}


def _settings_of(args, n_rows: int | None = None):
    """FitSettings from the fit options (``n_rows``: the data's, when it is loaded already)."""
    from emstudio.core.em import FitSettings

    start, k = _start_and_k(args, n_rows)
    return FitSettings(k=k, covariance_type=args.covariance, init=start, seed=args.seed, restarts=args.restarts,
                       max_iter=args.max_iter, reg_covar=args.reg_covar,
                       prior=getattr(args, "prior", "none"), **stopping_of(args))


def _load_values(args):
    """Load DATA's chosen columns; with --standardize, z-score them.

    Returns (loaded data, the values to fit, the Standardisation or None).
    """
    from emstudio.io.data import load_data

    columns = [c.strip() for c in args.columns.split(",")] if args.columns else None
    loaded = load_data(args.data, columns=columns, sheet=getattr(args, "sheet", None),
                       classes=getattr(args, "classes", None))
    if not args.standardize:
        return loaded, loaded.values, None
    from emstudio.core.transform import Standardisation

    standardisation = Standardisation.of(loaded.values)
    problem = standardisation.problem(loaded.columns)
    if problem:  # values ~1e-300 or ~1e300: the result could not be given back in the data's units
        from emstudio.errors import DataError

        raise DataError(problem)
    return loaded, standardisation.apply(loaded.values), standardisation


def _load_and_fit(args, on_snapshot=None):
    """Load DATA, fit it as the fit options say; returns (loaded data, values fitted, result).

    With --standardize the fit runs on z-scores and the result is reported in the data's units.
    Errors stay one line; when loading dropped rows, the line says so.
    """
    from emstudio.core.em import fit_mixture
    from emstudio.errors import EmstudioError

    loaded, values, standardisation = _load_values(args)
    settings = _settings_of(args, n_rows=values.shape[0])
    d = loaded.values.shape[1]
    if not isinstance(settings.init, str) and settings.init.n_features != d:
        raise EmstudioError(f"--init {args.init} has d={settings.init.n_features} dimensions "
                            f"but the data has {d} columns ({', '.join(loaded.columns)})")
    if standardisation is not None and not isinstance(settings.init, str):
        import dataclasses

        settings = dataclasses.replace(settings, init=standardisation.params_to_standard(settings.init))
    try:
        result = fit_mixture(values, settings, column_names=loaded.columns, on_snapshot=on_snapshot)
        if standardisation is not None:
            result = standardisation.result_to_original(result)
    except EmstudioError as exc:
        dropped = loaded.report.n_dropped
        if dropped:  # the one error line says what loading left out, since nothing else is printed
            raise EmstudioError(f"{exc} ({dropped} row{'s' * (dropped != 1)} dropped for missing values)") from None
        raise
    return loaded, values, result


def _check_outputs(outputs: list[str], data_path: str | list[str]) -> None:
    from emstudio.errors import EmstudioError
    from emstudio.io.atomic import check_output_path, refuse_overwriting_inputs

    real = [o for o in outputs if o and o != "-"]
    if outputs.count("-") > 1:
        raise EmstudioError("--out and --labels name the same file")
    # Each file refused now, before the fit (a device or FIFO is written in place, never replaced).
    targets = [check_output_path(out) for out in real]
    replaced = [t.final for t in targets if not t.in_place]
    if len(set(replaced)) < len(replaced):
        raise EmstudioError("--out and --labels name the same file")
    inputs = [data_path] if isinstance(data_path, str) else data_path
    for out in real:
        refuse_overwriting_inputs(out, [path for path in inputs if path != "-"])


def _print_summary(result, columns, stream) -> None:
    params = result.params
    state = "converged" if result.converged else ("stopped" if result.stopped else "not converged")
    stream.write(f"K={params.n_components} {result.settings.covariance_type}: log L = {result.log_likelihood:.6f}  "
                 f"BIC = {result.bic:.4f}  AIC = {result.aic:.4f}  ICL = {result.icl:.4f}\n")
    if result.log_prior is not None:
        stream.write(f"conjugate prior: log posterior = {result.log_likelihood + result.log_prior:.6f} (up to a "
                     f"constant; log L and the criteria at the MAP estimate, as mclust reports them)\n")
    stream.write(f"{result.n_iter} iterations, {state}; {result.n_samples} samples, columns {', '.join(columns)}\n")
    for k in range(params.n_components):
        mean = ", ".join(f"{v:.6g}" for v in params.means[k])
        flag = "  (degenerate)" if k in result.degenerate else ""
        stream.write(f"  component {k + 1}: weight {params.weights[k]:.4f}  mean [{mean}]{flag}\n")


def _print_fit_notes(loaded, values, result, reg_covar: float) -> None:
    """What loading did and what to be warned of, on standard error, once the fit has succeeded
    (an error stays one line). fit and plot print the same."""
    from emstudio.core.checks import collapse_advice, data_variances, identical_warning, reg_covar_warning

    for line in loaded.report.lines():
        sys.stderr.write(f"{PROG}: {line}\n")
    variances = data_variances(values)
    warning = reg_covar_warning(variances, reg_covar, loaded.columns)
    if warning:
        sys.stderr.write(f"{PROG}: warning: {warning}\n")
    if result.degenerate:
        which = ", ".join(str(k + 1) for k in result.degenerate)  # numbered 1 … K, as people read them
        # The advice fits the cause: reg_covar too large, column scales far apart, or a bad start.
        advice = collapse_advice(variances, reg_covar, loaded.columns)
        sys.stderr.write(f"{PROG}: warning: component {which} collapsed (degenerate); {advice}\n")
    identical = identical_warning(result.identical)
    if identical:
        sys.stderr.write(f"{PROG}: warning: {identical}\n")


def write_outputs(outputs: list[tuple[str, str]]) -> None:
    """Write (path, text) outputs: the files as a pair (all replaced, or on a full disk none),
    then those named '-' to standard output."""
    from emstudio.io.atomic import write_files_atomically

    write_files_atomically([(path, text.encode("utf-8")) for path, text in outputs if path != "-"])
    for path, text in outputs:
        if path == "-":
            sys.stdout.write(text)


def command_fit(args) -> int:
    from emstudio.cli_dask import check_engine_options, command_fit_dask

    check_engine_options(args)
    if args.engine == "dask":
        return command_fit_dask(args, _settings_of, _check_outputs, _print_summary, write_outputs)
    if args.model != "gmm":
        from emstudio.cli_factor import command_fit_factor

        return command_fit_factor(args, _load_values, _check_outputs)
    for option, value in (("--factors", args.factors), ("--psi", args.psi)):
        if value is not None:
            from emstudio.errors import EmstudioError

            raise EmstudioError(f"{option} is for --model fa or mfa")
    _check_outputs([args.out, args.labels], args.data)
    progress = _progress_printer(sys.stderr, args.max_iter, args.restarts) if sys.stderr.isatty() else None
    try:
        loaded, values, result = _load_and_fit(args, on_snapshot=progress)
    finally:
        if progress is not None:
            sys.stderr.write("\r\033[K")
    _print_fit_notes(loaded, values, result, args.reg_covar)
    # Make every output first, then write: a failure leaves no half-updated pair of files.
    outputs = []
    if args.out:
        import json

        from emstudio.io.results import result_to_dict

        content = result_to_dict(result, source=os.path.basename(loaded.report.source), columns=loaded.columns,
                                 n_dropped=loaded.report.n_dropped,
                                 extra_settings={"standardize": True} if args.standardize else None)
        outputs.append((args.out, json.dumps(content, indent=2, allow_nan=False) + "\n"))
    if args.labels:
        from emstudio.core.em import responsibilities
        from emstudio.io.results import labels_csv

        resp = responsibilities(loaded.values, result.params)
        outputs.append((args.labels, labels_csv(loaded.values, loaded.columns, resp, row_ids=loaded.row_ids(),
                                                cell_text=loaded.cell_text)))
    write_outputs(outputs)
    if not args.quiet and "-" not in (args.out, args.labels):
        _print_summary(result, loaded.columns, sys.stdout)
        if loaded.classes is not None:
            from emstudio.core.classes import compare_with_classes
            from emstudio.core.em import predict

            comparison = compare_with_classes(loaded.classes, predict(loaded.values, result.params),
                                              result.params.n_components)
            sys.stdout.write("".join(line + "\n" for line in comparison.lines()))
    return 0


def _display_available() -> bool:
    """Whether Qt can open a window here (on Linux: an X or Wayland display, or a platform chosen
    with QT_QPA_PLATFORM, e.g. offscreen). Qt itself aborts the process when it finds none."""
    if not sys.platform.startswith("linux"):
        return True
    return any(os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def _missing_qt_packages(window: bool = True) -> list[str]:
    """Debian packages Qt needs here that this machine lacks (emstudio.system_libraries): the
    offscreen set always, and for a ``window`` on an X display the X set too. Without this check
    importing Qt raises ImportError and Qt's X platform aborts the process with a page of text."""
    from emstudio.system_libraries import missing_packages

    platform = os.environ.get("QT_QPA_PLATFORM", "")
    on_x = window and bool(os.environ.get("DISPLAY")) and platform in ("", "xcb")
    return missing_packages("x11" if on_x else "offscreen")


def _check_qt_packages(what: str, window: bool = True) -> None:
    missing = _missing_qt_packages(window)
    if missing:
        from emstudio.errors import EmstudioError
        from emstudio.system_libraries import install_command

        raise EmstudioError(f"{what} needs system libraries this machine lacks; install them with: "
                            f"{install_command(missing)}")


def command_select(args) -> int:
    """``emstudio select`` (in cli_select.py: the grid's limits and its interruption)."""
    from emstudio.cli_select import command_select as run_select

    return run_select(args, prog=PROG, check_outputs=_check_outputs, load_values=_load_values)


def command_open(args) -> int:
    """The window (Qt is imported here only)."""
    if not _display_available():
        from emstudio.errors import EmstudioError

        if getattr(args, "command", None) == "gui":
            raise EmstudioError("no display to open the window on (DISPLAY and WAYLAND_DISPLAY are not set)")
        # The bare command is what a newcomer types first: say what works without a window.
        # Still an error (exit 1): the window that was asked for did not open.
        sys.stderr.write(f"{PROG}: error: no display to open the window on (DISPLAY and WAYLAND_DISPLAY are not set).\n"
                         f"Without a window:\n"
                         f"  {PROG} fit DATA [--k K] [--covariance TYPE] [--out RESULT.json] [--labels LABELS.csv]\n"
                         f"  {PROG} plot DATA [fit options] --out PICTURE.png|.svg\n"
                         f"  {PROG} --help for every option\n"
                         f"On a machine with no screen, a virtual one (README, \"Setting up\"): "
                         f"xvfb-run -s \"-screen 0 1920x1080x24\" ./run\n")
        return 1
    _check_qt_packages("the window")
    settings = None
    data = getattr(args, "data", None)
    if getattr(args, "command", None) == "gui":
        if data is not None:
            from emstudio.errors import EmstudioError
            from emstudio.io.inputs import path_problem

            problem = path_problem(data)  # found without opening (a FIFO is read once, by the window)
            if problem:
                raise EmstudioError(f"{data}: {problem}")
        elif args.check:
            from emstudio.errors import EmstudioError

            raise EmstudioError("--check needs DATA: emstudio gui DATA --check")
        settings = _settings_of(args)
    from emstudio.gui.app import run_window

    columns = [c.strip() for c in args.columns.split(",")] if getattr(args, "columns", None) else None
    model = None
    if getattr(args, "command", None) == "gui" and args.model == "gmm" and args.factors is not None:
        from emstudio.errors import EmstudioError

        raise EmstudioError("--factors is for --model fa or mfa")
    if getattr(args, "command", None) == "gui" and args.model != "gmm":
        model = (args.model, 1 if args.factors is None else args.factors, args.psi or "shared")
    return run_window(data, settings, columns=columns, classes=getattr(args, "classes", None),
                      sheet=getattr(args, "sheet", None), model=model, check=getattr(args, "check", False))


def _axes_of(args, names) -> tuple[int, int] | None:
    """--axes X,Y as two column positions (None: the default, the first two)."""
    from emstudio.errors import EmstudioError

    if not args.axes:
        return None
    picked = [a.strip() for a in args.axes.split(",")]
    if len(picked) != 2:
        raise EmstudioError("--axes takes two columns, X,Y")
    axes = tuple(names.index(a) if a in names else int(a) if a.isdigit() and int(a) < len(names) else -1
                 for a in picked)
    if -1 in axes:
        raise EmstudioError(f"--axes {args.axes}: choose two of the used columns {', '.join(names)}")
    return axes


def _size_of(args) -> tuple[int, int]:
    from emstudio.errors import EmstudioError
    from emstudio.gui.picture import parse_size

    try:
        return parse_size(args.size)
    except ValueError as exc:
        raise EmstudioError(f"--size {args.size}: {exc}") from None


def command_plot(args) -> int:
    """Fit, then draw the window's picture headless (Qt is imported here only)."""
    from emstudio.errors import EmstudioError

    suffix = os.path.splitext(args.out)[1].lower()
    if suffix not in (".png", ".svg"):
        raise EmstudioError(f"--out {args.out}: the picture is written as .png or .svg")
    size = _size_of(args)
    _check_outputs([args.out], args.data)
    _check_qt_packages("drawing the picture", window=False)  # before the fit, not after it
    loaded, values, result = _load_and_fit(args)
    names = list(loaded.columns)
    axes = _axes_of(args, names)
    _print_fit_notes(loaded, values, result, args.reg_covar)  # as fit does, on standard error
    from emstudio.gui.picture import picture_title, render_picture

    state = "converged" if result.converged else "not converged"
    title = picture_title(loaded.report.source, result.params.n_components, args.covariance, result.log_likelihood,
                          result.n_iter, state)
    render_picture(loaded.values, names, result.params, args.out, title=title, axes=axes, size=size,
                   equal_aspect=args.equal_aspect)
    return 0


def command_animate(args) -> int:
    """Fit, keeping every iteration, then draw them as an animation headless."""
    from emstudio.animate import check_animation_path, render_frames, states_of_snapshots, write_animation

    check_animation_path(args.out)
    size = _size_of(args)
    _check_outputs([args.out], args.data)
    _check_qt_packages("drawing the animation", window=False)  # before the fit, not after it
    runs: dict[int, list] = {}

    def keep(restart, snapshot) -> None:
        runs.setdefault(restart, []).append(snapshot)

    loaded, values, result = _load_and_fit(args, on_snapshot=keep)
    names = list(loaded.columns)
    axes = _axes_of(args, names)
    _print_fit_notes(loaded, values, result, args.reg_covar)
    snapshots = runs.get(result.best_restart, [])
    if args.standardize:  # the snapshots are in z-scores; draw them in the data's units
        import dataclasses

        from emstudio.core.transform import Standardisation

        standardisation = Standardisation.of(loaded.values)
        shift = standardisation.log_jacobian(loaded.values.shape[0])
        snapshots = [dataclasses.replace(s, params=standardisation.params_to_original(s.params),
                                         log_likelihood=s.log_likelihood + shift) for s in snapshots]
    states = states_of_snapshots(snapshots, args.frames, result.converged)
    tty = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if tty:
            sys.stderr.write(f"\r{PROG}: drawing frame {done}/{total}")
            sys.stderr.flush()

    try:
        frames = render_frames(loaded.values, names, states, source=loaded.report.source,
                               covariance_type=args.covariance, axes=axes, size=size,
                               equal_aspect=args.equal_aspect, progress=progress)
    finally:
        if tty:
            sys.stderr.write("\r\033[K")
    write_animation(args.out, frames, fps=args.fps)
    return 0


def command_samples(args) -> int:
    from emstudio.cli_samples import command_samples as samples

    return samples(args)


def command_predict(args) -> int:
    from emstudio.cli_predict import command_predict as predict

    return predict(args)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"fit": command_fit, "select": command_select, "gui": command_open, "plot": command_plot,
                "animate": command_animate, "predict": command_predict, "samples": command_samples, None: command_open}
    from emstudio.errors import EmstudioError

    import warnings

    # numpy's RuntimeWarnings (overflow, division) would be extra lines; the explicit checks
    # report such data as one clear error instead.
    warnings.simplefilter("ignore", RuntimeWarning)
    try:
        return handlers[args.command](args)
    except EmstudioError as exc:
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write(f"\n{PROG}: interrupted\n")
        return 130
    except MemoryError:
        sys.stderr.write(f"{PROG}: error: not enough memory for this data and K\n")
        return 1
    except BrokenPipeError:
        return 1
    except Exception as exc:  # the promise: one line, never a traceback
        if os.environ.get("EMSTUDIO_DEBUG"):
            raise
        sys.stderr.write(f"{PROG}: internal error: {type(exc).__name__}: {exc} "
                         "(set EMSTUDIO_DEBUG=1 to see the traceback)\n")
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
