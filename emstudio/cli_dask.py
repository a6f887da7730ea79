"""`emstudio fit DATA --engine dask`: the fit on a Dask cluster (README, "Data beyond one machine").

The options are added to `fit` by :func:`add_options`; the command's in-memory path stays in cli.py.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

from emstudio.cli_parser import PROG
from emstudio.errors import EmstudioError

ENGINES = ("memory", "dask")
#: Options that only mean something with --engine dask (argparse dest, flag).
_DASK_ONLY = (("scheduler", "--scheduler"), ("workers", "--workers"), ("sample_rows", "--sample-rows"),
              ("block_rows", "--block-rows"), ("block_bytes", "--block-bytes"), ("persist", "--persist"), ("connect_timeout", "--connect-timeout"))


def add_options(parser, positive_int, positive_float) -> None:
    """The engine options of `emstudio fit` (defaults None, so that one given without
    --engine dask is noticed)."""
    group = parser.add_argument_group("data beyond one machine (--engine dask; docs/formats.md)")
    group.add_argument("--engine", choices=ENGINES, default="memory",
                       help="memory: load DATA and fit it here (default); dask: fit on a Dask cluster, DATA a "
                            ".npy file, a Zarr array, a Parquet folder or a glob of CSV/Parquet files (quote it)")
    group.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="the Dask scheduler of an existing cluster (e.g. tcp://host:8786); without it a "
                            "local cluster of --workers processes is started and closed")
    group.add_argument("--workers", type=positive_int, default=None, metavar="N",
                       help="worker processes of the local cluster (default 2, one thread each)")
    group.add_argument("--sample-rows", type=positive_int, default=None, metavar="N",
                       help="rows of the uniform sample the start (k-means, ...) runs on (default 100000)")
    sizes = group.add_mutually_exclusive_group()
    sizes.add_argument("--block-rows", type=positive_int, default=None, metavar="N",
                       help="rows per block (a Parquet file: whole row groups of about N rows; a CSV/text file: "
                            "the bytes of about N of its lines). Default: equal blocks of at most 64 MiB, at least "
                            "2 per worker (a text file under 1 MiB, a file of another format: one block)")
    sizes.add_argument("--block-bytes", type=positive_int, default=None, metavar="N",
                       help="bytes per block: of a CSV/text file (cut on line ends), of float64 values for a .npy "
                            "file, Zarr array or Parquet file (whole row groups)")
    group.add_argument("--persist", choices=("auto", "yes", "no"), default=None,
                       help="keep the blocks in the workers' memory (auto: when they fit in half of it) or read "
                            "them from storage for every iteration")
    group.add_argument("--connect-timeout", type=positive_float, default=None, metavar="S",
                       help="seconds to wait for --scheduler (default 10)")


def check_engine_options(args) -> None:
    """One line for a Dask option given without --engine dask."""
    if getattr(args, "engine", "memory") == "dask":
        return
    for dest, flag in _DASK_ONLY:
        if getattr(args, dest, None) is not None:
            raise EmstudioError(f"{flag} is for --engine dask")


def _refuse_unsupported(args) -> None:
    if getattr(args, "labels", None) and args.model == "fa":
        raise EmstudioError("--labels needs components: factor analysis has one (use --model mfa)")
    for flag, given in (("--sheet", args.sheet),):
        if given:
            raise EmstudioError(f"{flag} is not available with --engine dask")
    if args.data == "-":
        raise EmstudioError("--engine dask reads files the workers can open, not standard input")
    if args.scheduler and args.workers is not None:
        raise EmstudioError("--workers is for the local cluster; an existing cluster (--scheduler) has its own")


def progress_printer(stream, engine_of, max_iter: int, restarts: int, tty: bool):
    """A snapshot callback: one redrawn line (a terminal, at most 10 a second) or a line every 5 s
    (a log file), with the rows per second of the passes so far."""
    state = {"last": 0.0}
    every = 0.1 if tty else 5.0

    def show(restart: int, snapshot) -> None:
        now = time.monotonic()
        if now - state["last"] < every and not snapshot.converged:
            return
        state["last"] = now
        engine = engine_of()
        prefix = f"start {restart + 1}/{restarts}  " if restarts > 1 else ""
        speed = f"  {engine.rows_per_second:.3g} rows/s" if engine is not None and engine.passes else ""
        text = f"{prefix}iteration {snapshot.iteration}/{max_iter}  log L {snapshot.log_likelihood:.10g}{speed}"
        stream.write(f"\r{text}\033[K" if tty else f"{PROG}: {text}\n")
        stream.flush()

    return show


def _cluster_error(exc: BaseException) -> EmstudioError | None:
    """distributed.cluster.cluster_error (the window says the same)."""
    from emstudio.distributed.cluster import cluster_error

    return cluster_error(exc)


def command_fit_dask(args, settings_of, check_outputs, print_summary, write_outputs) -> int:
    """`emstudio fit DATA --engine dask ...`; the helpers are cli.py's (settings, outputs, summary)."""
    from emstudio.distributed.cluster import DEFAULT_CONNECT_TIMEOUT, DEFAULT_WORKERS, open_client, require_dask
    from emstudio.distributed.fit import DEFAULT_SAMPLE_ROWS
    from emstudio.distributed.sources import array_shape, find_blocks, npy_columns

    _refuse_unsupported(args)
    require_dask()
    blocks = find_blocks(args.data, args.block_rows, block_bytes=args.block_bytes)
    check_outputs([args.out, args.labels], [spec.path for spec in blocks])
    factor = args.model != "gmm"
    if factor:
        from emstudio.cli_factor import _settings as factor_settings

        settings = factor_settings(args, 0)
    else:
        settings = settings_of(args)
    columns = [c.strip() for c in args.columns.split(",")] if args.columns else None
    if blocks[0].kind in ("npy", "zarr"):  # a column the array lacks is refused before a cluster starts
        npy_columns(array_shape(blocks[0].path, blocks[0].kind)[1], columns)
        if args.classes:
            raise EmstudioError("--classes with --engine dask needs table files (CSV, Parquet): an array has no "
                                "column of class names")
    persist = {"auto": None, "yes": True, "no": False}[args.persist or "auto"]
    held: dict = {}
    tty = sys.stderr.isatty()
    progress = None if args.quiet and not tty else progress_printer(sys.stderr, lambda: held.get("engine"),
                                                                   args.max_iter, args.restarts, tty)
    from emstudio.cli_select import EXIT_TERMINATED, Terminated, _catch_sigterm, _restore_sigterm

    previous_term = _catch_sigterm()  # SIGTERM ends the fit as Ctrl+C does: the local cluster closed
    outputs = contextlib.ExitStack()  # the labels file, staged until the fit's outputs are all made
    try:
        with open_client(args.scheduler, args.workers or DEFAULT_WORKERS,
                         args.connect_timeout or DEFAULT_CONNECT_TIMEOUT) as client:
            from emstudio.distributed.engine import ClusterEngine
            from emstudio.distributed.fit import fit_on_cluster
            from emstudio.distributed.labels import write_labels

            if args.block_rows is None and args.block_bytes is None:  # equal blocks, at least two per worker
                blocks = find_blocks(args.data, None, 2 * max(1, len(client.scheduler_info().get("workers", {}))))
            # A factor model is equivariant to units: --standardize changes nothing, as in memory.
            with ClusterEngine(client, blocks, "full" if factor else settings.covariance_type, columns, persist,
                               standardize=args.standardize and not factor, classes=args.classes) as engine:
                held["engine"] = engine
                sample_rows = args.sample_rows or DEFAULT_SAMPLE_ROWS
                if factor:
                    from emstudio.distributed.factor import fit_factor_on_cluster

                    result = fit_factor_on_cluster(engine, settings, sample_rows=sample_rows, on_snapshot=progress)
                    mixture = result.params.to_mixture()  # the components' Gaussians, for labels and classes
                else:
                    result = fit_on_cluster(engine, _in_fitted_units(settings, engine), sample_rows=sample_rows,
                                            on_snapshot=progress)
                    mixture = result.params
                if args.labels:  # written while the cluster is open, renamed into place with --out below
                    labels = held["labels"] = outputs.enter_context(_labels_target(args.labels))
                    write_labels(engine, mixture, labels.write)
                if args.classes and not args.quiet and "-" not in (args.out, args.labels):
                    from emstudio.distributed.classes import compare_on_cluster

                    held["comparison"] = compare_on_cluster(engine, mixture, args.classes)
            if engine.standardisation is not None:
                result = engine.standardisation.result_to_original(result)
    except Terminated:
        outputs.close()
        sys.stderr.write(f"{chr(13) + chr(27) + '[K' if progress is not None and tty else ''}{PROG}: terminated\n")
        return EXIT_TERMINATED
    except EmstudioError:
        outputs.close()
        raise
    except BaseException as exc:
        outputs.close()
        problem = _cluster_error(exc) if isinstance(exc, Exception) else None
        if problem is None:
            raise
        raise problem from None
    finally:
        _restore_sigterm(previous_term)
        if progress is not None and tty:
            sys.stderr.write("\r\033[K")
    with outputs:
        _print_notes(args, engine, result)
        if args.out:
            import json

            source = os.path.basename(args.data.rstrip(os.sep))
            if factor:
                from emstudio.io.factor_results import factor_result_to_dict

                content = factor_result_to_dict(result, source=source, columns=engine.columns,
                                                n_dropped=engine.n_dropped)
                content["settings"]["engine"] = "dask"
            else:
                from emstudio.io.results import result_to_dict

                extra = {"engine": "dask", **({"standardize": True} if args.standardize else {})}
                content = result_to_dict(result, source=source, columns=engine.columns, n_dropped=engine.n_dropped,
                                         extra_settings=extra)
            write_outputs([(args.out, json.dumps(content, indent=2, allow_nan=False) + "\n")])
        if "labels" in held:  # after --out, as the in-memory fit writes the pair
            held["labels"].commit()
    if not args.quiet and "-" not in (args.out, args.labels):
        if factor:
            from emstudio.cli_factor import _print_summary as print_factor_summary

            print_factor_summary(result, engine.columns, sys.stdout)
        else:
            print_summary(result, engine.columns, sys.stdout)
        if "comparison" in held:
            sys.stdout.write("".join(line + "\n" for line in held["comparison"].lines()))
    return 0


def _in_fitted_units(settings, engine):
    """The fit's settings with a start given in the data's units put in z-scores when the engine
    standardises (as `fit --standardize` does in memory); a start of another d is left for the fit
    to refuse in one line."""
    from emstudio.core.params import MixtureParams

    z = engine.standardisation
    if z is None or not isinstance(settings.init, MixtureParams) or settings.init.n_features != engine.n_features:
        return settings
    import dataclasses

    return dataclasses.replace(settings, init=z.params_to_standard(settings.init))


class _StandardOutput:
    """The labels written to standard output part by part (`--labels -`)."""

    def write(self, data: bytes) -> None:
        sys.stdout.write(data.decode("utf-8"))

    def commit(self) -> None:
        sys.stdout.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


def _labels_target(path: str):
    from emstudio.io.atomic import StagedFile

    return _StandardOutput() if path == "-" else StagedFile(path)


def _passes(engine) -> str:
    """"N passes at X rows/s" over the blocks; "no pass over the blocks" when the fit needed
    none (--model fa, one factor analyser, uses the data's moments alone)."""
    if not engine.passes:
        return "no pass over the blocks after the set-up"
    return f"{engine.passes} pass{'es' * (engine.passes != 1)} at {engine.rows_per_second:.3g} rows/s"


def _print_notes(args, engine, result) -> None:
    """What was read and what to be warned of, on standard error (as `fit` prints them)."""
    from emstudio.core.checks import collapse_advice, identical_warning, reg_covar_warning

    where = args.scheduler or f"a local cluster of {args.workers or 2} workers"
    kept = "kept in the workers' memory" if engine.persisted else "read from storage every pass"
    d = engine.n_features
    sys.stderr.write(f"{PROG}: {engine.n_samples} rows, {d} column{'s' * (d != 1)} ({', '.join(engine.columns)}) in "
                     f"{engine.n_blocks} block{'s' * (engine.n_blocks != 1)} on {where}, {kept}; "
                     f"{_passes(engine)}\n")
    for line in engine.left_out:
        sys.stderr.write(f"{PROG}: {line}\n")
    if engine.n_dropped:
        s = "s" * (engine.n_dropped != 1)
        sys.stderr.write(f"{PROG}: dropped {engine.n_dropped} row{s} with a missing, NaN or infinite value\n")
    for note in engine.notes:
        sys.stderr.write(f"{PROG}: note: {note}\n")
    if args.model != "gmm":
        from emstudio.core.factor import heywood_message

        message = heywood_message(result.heywood, engine.columns)
        if message:
            sys.stderr.write(f"{PROG}: warning: {message}\n")
        return
    variances = engine.summary.variances
    warning = reg_covar_warning(variances, args.reg_covar, engine.columns)
    if warning:
        sys.stderr.write(f"{PROG}: warning: {warning}\n")
    if result.degenerate:
        which = ", ".join(str(k + 1) for k in result.degenerate)
        advice = collapse_advice(variances, args.reg_covar, engine.columns)
        sys.stderr.write(f"{PROG}: warning: component {which} collapsed (degenerate); {advice}\n")
    identical = identical_warning(result.identical)
    if identical:
        sys.stderr.write(f"{PROG}: warning: {identical}\n")


def gui_cluster_request(args):
    """`emstudio gui DATA --engine dask ...`: the window's ClusterRequest, or None without
    --engine dask. What the window cannot do with data on a cluster is refused in one line here,
    before any window (the cluster's own problems are told in the window)."""
    check_engine_options(args)
    if args.engine != "dask":
        return None
    if args.data is None:
        raise EmstudioError("--engine dask needs DATA: emstudio gui DATA --engine dask")
    _refuse_unsupported(args)  # as `fit --engine dask` refuses them
    for flag, given in (("--model fa|mfa", getattr(args, "model", "gmm") != "gmm"),
                        ("--prior conjugate", getattr(args, "prior", "none") != "none"),
                        ("--classes", getattr(args, "classes", None)), ("--block-bytes", args.block_bytes)):
        if given:  # what `fit --engine dask` has but the window's cluster data do not
            raise EmstudioError(f"{flag} is not available with --engine dask in the window "
                                "(emstudio fit --engine dask has it)")
    if args.standardize:
        raise EmstudioError("--standardize is not available in the window with --engine dask")
    from emstudio.gui.cluster_data import ClusterRequest, check_request

    columns = tuple(c.strip() for c in args.columns.split(",")) if args.columns else None
    request = ClusterRequest(args.data, args.scheduler, args.workers, args.sample_rows, args.block_rows,
                             {"auto": None, "yes": True, "no": False}[args.persist or "auto"], args.connect_timeout,
                             columns, args.seed)
    check_request(request)  # Dask missing, no such file, an empty glob, no such column: before the window
    return request
