"""``emstudio select``: fit a grid of (covariance model, K) and choose one (see docs/select.md).

Split from cli.py so that the grid's limits (K bounded by the data before the grid is made,
--jobs bounded by the cores) and its interruption (Ctrl+C and SIGTERM end the workers at once,
exit 130/143, one line saying what was not written) live in one place.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130, as a shell reports a Ctrl+C
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl+C so that the same clean-up ends the workers."""


#: select's restarts, chosen by measurement (benchmarks/bench_select.py; docs/select.md): this many
#: starts per cell, each run SHORT_ITER EM steps, then the LONG_RUNS best run to convergence.
RESTARTS = 5
SHORT_ITER = 10
LONG_RUNS = 1


def add_parser(commands, add_fit_options, positive_int, non_negative_int) -> argparse.ArgumentParser:
    select = commands.add_parser(
        "select", help="choose K and the covariance model (or K and the factors) by BIC, AIC or ICL",
        description="Fit every (covariance model, K) — or with --model fa|mfa every (K, factors) — with several "
                    "restarts, in parallel, and choose the model with the lowest criterion among those with no "
                    "collapsed component (no Heywood case). Ctrl+C stops at once (nothing is written).")
    select.add_argument("data", metavar="DATA", help="data file (CSV/TSV/text, NPY, NPZ, ...; '-' for standard input)")
    select.add_argument("--k", default=None, metavar="RANGE",
                        help="the K to try: 1-6 or 2,3,5 (default 1-6; --model fa: 1); K above the number of "
                             "distinct rows of the data is left out")
    select.add_argument("--covariance", default=None, metavar="TYPES",
                        help="covariance models to try, comma-separated (default all four)")
    select.add_argument("--criterion", default="bic", choices=["bic", "aic", "icl"],
                        help="lower is better (default bic)")
    add_fit_options(select, restarts_default=RESTARTS, skip=("--k", "--covariance", "--classes"))
    restarts = select.add_argument_group("em-EM restarts (Biernacki, Celeux & Govaert 2003)")
    restarts.add_argument("--short-iter", type=non_negative_int, default=SHORT_ITER, metavar="N",
                          help="every start first runs N EM steps; then only the --long-runs best go on to "
                               f"convergence (0: every start runs to convergence) (default {SHORT_ITER})")
    restarts.add_argument("--long-runs", type=positive_int, default=LONG_RUNS, metavar="M",
                          help=f"starts run on to convergence after the short runs (default {LONG_RUNS})")
    restarts.add_argument("--no-warm-start", dest="warm_start", action="store_false",
                          help="no warm start: by default each K also starts from the fit at K − 1 with one "
                               "component split in two along its principal axis")
    factor = select.add_argument_group("factor models (docs/factor-analysis.md)")
    factor.add_argument("--model", default="gmm", choices=["gmm", "fa", "mfa"],
                        help="gmm: Gaussian mixtures (default); fa: factor analysis, one q per cell; "
                             "mfa: mixtures of factor analysers, a K × q grid")
    factor.add_argument("--factors", default=None, metavar="RANGE",
                        help="--model fa|mfa: the q to try, 1-4 or 0,2 (each 0 or more and fewer than the columns)")
    factor.add_argument("--psi", default=None, choices=["shared", "per-component"],
                        help="--model mfa: one diagonal noise Ψ for all components, or one each (default shared)")
    select.add_argument("--jobs", type=positive_int, default=None, metavar="N",
                        help="processes to use (default and at most: the cores this program may use)")
    select.add_argument("--out", metavar="SELECTION.json", help="write the selection file here ('-' for standard output)")
    select.add_argument("--quiet", "-q", action="store_true", help="print no table")
    return select


def one_d_note(same_models: dict[str, str]) -> str:
    """One line: which types asked for were not fitted, being in 1-D the same model as another."""
    from emstudio.core.models import ALIASES, model_for_dimension

    groups: dict[str, list[str]] = {}
    for name, fitted in same_models.items():
        groups.setdefault(fitted, []).append(name)
    parts = []
    for fitted, names in groups.items():
        model = model_for_dimension(ALIASES.get(fitted, fitted), 1)
        what = "one variance for all components" if model == "E" else "a variance for each component"
        parts.append(f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} the same model as {fitted} "
                     f"({model}: {what})")
    return "in one dimension " + "; ".join(parts) + ", so each was fitted once"


def _raise_terminated(signum, frame) -> None:
    raise Terminated


def command_select(args, *, prog: str, check_outputs, load_values) -> int:
    from emstudio.core.em import FitSettings
    from emstudio.core.init import INIT_METHODS
    from emstudio.core.selection import (
        available_cores,
        k_allowed_by_data,
        largest_k,
        parse_covariance_types,
        parse_k_range,
    )
    from emstudio.errors import EmstudioError

    def note(line: str) -> None:
        sys.stderr.write(f"{prog}: {line}\n")

    from emstudio.cli_dask import check_engine_options

    check_engine_options(args)
    if args.model != "gmm":
        from emstudio.cli_factor_select import command_select_factor

        return command_select_factor(args, note=note, check_outputs=check_outputs, load_values=load_values)
    for option, value in (("--factors", args.factors), ("--psi", args.psi)):
        if value is not None:
            raise EmstudioError(f"{option} is for --model fa or mfa")
    k_text = args.k or "1-6"
    wanted = largest_k(k_text)  # the range's syntax, checked before anything is read
    types = parse_covariance_types(args.covariance or "full,tied,diag,spherical")
    if args.init not in INIT_METHODS:  # refused unread: a start file has one K, a grid many
        raise EmstudioError(f"--init {args.init!r}: select tries many K, so --init takes a start method "
                            f"({', '.join(INIT_METHODS)}), not a parameter file")
    from emstudio.cli import stopping_of

    base = FitSettings(k=1, init=args.init, seed=args.seed, restarts=args.restarts, max_iter=args.max_iter,
                       reg_covar=args.reg_covar, prior=args.prior, short_iter=args.short_iter,
                       long_runs=args.long_runs, **stopping_of(args))
    base.validate()
    if args.engine == "dask":
        from emstudio.cli_select_dask import command_select_dask, ks_of_sample

        return command_select_dask(args, prog=prog, check_outputs=check_outputs, note=note, report=_report,
                                   base=base, ks_of=ks_of_sample(k_text, note), types=types)
    check_outputs([args.out], args.data)
    loaded, values, standardisation = load_values(args)
    if args.prior == "conjugate":  # every type of the grid must have the prior: refused before any fit
        from emstudio.core.prior import prior_model

        for covariance_type in types:
            prior_model(covariance_type, values.shape[1])
    # K is bounded by the data before the grid is made: K components need K distinct points.
    allowed = k_allowed_by_data(values, wanted)
    ks = parse_k_range(k_text, at_most=allowed)
    if allowed < wanted:
        note(f"--k {k_text}: the data have {allowed} distinct row{'s' * (allowed != 1)}, so K goes up to "
             f"{allowed}")
    note_jobs(args.jobs, note, available_cores())
    selection, status = run_interruptibly(
        lambda progress: _run_grid(values, ks, types, base, args, loaded.columns, progress),
        total=len(ks) * len(types), describe=lambda cell: f"{cell.covariance_type}, K={cell.k}", out=args.out,
        note=note)
    if selection is None:
        return status
    return _report(selection, args, prog, loaded, ks, types, standardisation, note)


def note_jobs(jobs: int | None, note, cores: int) -> None:
    if jobs is not None and jobs > cores:
        note(f"--jobs {jobs}: {cores} core{'s' * (cores != 1)} here, so {cores} processes")


def run_interruptibly(run, *, total: int | None, describe, out: str | None, note):
    """(``run(progress)``, None), or (None, the exit status) when Ctrl+C or SIGTERM stopped it.

    ``progress(cell, done, total)`` redraws one line on standard error when it is a terminal
    (``describe(cell)`` names the cell); an interruption is one line saying what was not written.
    """
    tty = sys.stderr.isatty()
    fitted = {"done": 0}

    def progress(cell, done, total):
        fitted["done"], fitted["total"] = done, total
        if tty:
            sys.stderr.write(f"\r{done}/{total} models fitted (last: {describe(cell)})\033[K")
            sys.stderr.flush()

    previous_term = _catch_sigterm()
    try:
        return run(progress), None
    except KeyboardInterrupt as exc:  # the workers have ended by now
        if tty:
            sys.stderr.write("\r\033[K")
        what = "terminated" if isinstance(exc, Terminated) else "interrupted"
        unwritten = f"; {out} not written" if out and out != "-" else "; nothing written"
        total_known = fitted.get("total", total)
        of = f" of {total_known}" if total_known is not None else ""
        note(f"{what} after {fitted['done']}{of} models{unwritten}")
        return None, (EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED)
    finally:
        if tty:
            sys.stderr.write("\r\033[K")
        _restore_sigterm(previous_term)


def _catch_sigterm():
    """SIGTERM raises Terminated while the grid runs (only the main thread may set it)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_terminated)


def _restore_sigterm(previous) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def _run_grid(values, ks, types, base, args, columns, progress):
    from emstudio.core.selection import select_models

    return select_models(values, ks, types, base, criterion=args.criterion, jobs=args.jobs,
                         column_names=columns, on_cell=progress, warm_start=args.warm_start)


def _report(selection, args, prog, loaded, ks, types, standardisation, note, engine_settings=None) -> int:
    from emstudio.errors import EmstudioError

    if standardisation is not None:
        import dataclasses

        cells = tuple(c if c.result is None else dataclasses.replace(c, result=standardisation.result_to_original(c.result))
                      for c in selection.cells)
        best = next((c for c in cells if selection.best is not None and c.covariance_type == selection.best.covariance_type
                     and c.k == selection.best.k), None)
        selection = dataclasses.replace(selection, cells=cells, best=best)
    for line in loaded.report.lines():
        note(line)
    if selection.same_models:
        note(one_d_note(selection.same_models))
        types = [t for t in types if t not in selection.same_models]
    collapsed = [c for c in selection.cells if c.n_collapsed]
    if collapsed:
        note("restarts that collapsed: " + ", ".join(
            f"{c.covariance_type} K={c.k}: {c.n_collapsed}/{c.n_restarts}" for c in collapsed))
    if selection.best is None:
        reasons = {c.error for c in selection.cells if c.error}
        raise EmstudioError("no model could be fitted without a collapsed component" +
                            (f" ({'; '.join(sorted(reasons))})" if reasons else ""))
    if args.out:
        import json

        from emstudio.io.results import selection_to_dict

        content = selection_to_dict(selection, source=os.path.basename(loaded.report.source), columns=loaded.columns,
                                    n_dropped=loaded.report.n_dropped,
                                    extra_settings={**(engine_settings or {}),
                                                    **({"standardize": True} if args.standardize else {})} or None)
        text = json.dumps(content, indent=2, allow_nan=False) + "\n"
        if args.out == "-":
            sys.stdout.write(text)
        else:
            from emstudio.io.atomic import atomic_write_text

            atomic_write_text(args.out, text)
    if not args.quiet and args.out != "-":
        from emstudio.cli_table import criterion_table

        def cell(c):
            mark = "*" if c is selection.best else ("!" if c.degenerate else " ")
            return None if c.result is None else (c.criterion(args.criterion), mark)

        rows = [(t, [cell(c) for c in selection.cells if c.covariance_type == t]) for t in types]
        sys.stdout.write(criterion_table(args.criterion, "every restart collapsed", [f"K={k}" for k in ks], rows))
        best = selection.best
        sys.stdout.write(f"chosen: {best.covariance_type}, K={best.k} "
                         f"({args.criterion.upper()} {best.criterion(args.criterion):.4f})\n")
    return 0
