"""The commands that open a window or draw the window's picture: ``gui`` (and the bare command),
``plot`` and ``animate`` (docs/formats.md, "Command line"). Qt is imported here only, after the
system libraries it needs are checked (emstudio.system_libraries)."""

from __future__ import annotations

import os
import sys

from emstudio.cli import _check_outputs, _load_and_fit, _print_fit_notes, _settings_of
from emstudio.cli_parser import PROG


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
