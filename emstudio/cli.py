"""The ``emstudio`` command (docs/formats.md, "Command line").

Imports only what each command needs, so ``emstudio fit`` starts fast and never loads Qt.
Every error ends in one line on standard error and a non-zero exit status, never a traceback
(set EMSTUDIO_DEBUG=1 to see one).
"""

from __future__ import annotations

import os
import sys
import time

from emstudio.cli_parser import DEFAULT_CONVERGENCE, DEFAULT_TOL, PROG, build_parser

EXIT_INTERNAL = 70


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
    cluster = None
    if getattr(args, "command", None) == "gui":
        from emstudio.cli_dask import gui_cluster_request

        cluster = gui_cluster_request(args)  # --engine dask: DATA may be a folder or a glob
        if data is not None and cluster is None:
            from emstudio.errors import EmstudioError
            from emstudio.io.inputs import path_problem

            problem = path_problem(data)  # found without opening (a FIFO is read once, by the window)
            if problem:
                hint = "; a Parquet folder or a Zarr array opens with --engine dask" if os.path.isdir(data) else ""
                raise EmstudioError(f"{data}: {problem}{hint}")
        elif args.check and cluster is None:
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
                      sheet=getattr(args, "sheet", None), model=model, check=getattr(args, "check", False),
                      cluster=cluster)


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
