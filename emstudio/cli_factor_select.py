"""``emstudio select --model fa|mfa``: a grid of (K, q) factor models, chosen by BIC, AIC or ICL.

`--model fa --factors 1-4` tries factor analysis with each q; `--model mfa --k 1-4 --factors 1-3
[--psi shared|per-component]` every (K, q). The cells run on the mixtures' machinery (worker
processes, shared data, Ctrl+C and SIGTERM: cli_select.run_interruptibly); a cell is exactly
`emstudio fit --model fa|mfa` with the same options and seed. See docs/select.md.
"""

from __future__ import annotations

import os
import sys

#: What a grid's --init may be: a start method (a file has one K and one q; a grid has many).
SELECT_INITS = {"fa": ("pca", "random"), "mfa": ("kmeans", "random")}


def _grid_request(args):
    """(model, the K text, the init) from the command line, every problem one line, before reading DATA."""
    from emstudio.core.selection import k_range_parts, largest_k
    from emstudio.errors import EmstudioError

    model = args.model
    if args.covariance is not None:
        raise EmstudioError(f"--covariance is for Gaussian mixtures; --model {model} fits ΛΛᵀ + Ψ (try --psi)")
    if args.factors is None:
        raise EmstudioError(f"select --model {model} needs --factors RANGE (the numbers of factors to try, e.g. 1-4)")
    if args.prior != "none":
        raise EmstudioError(f"--prior is for Gaussian mixtures; --model {model} is fitted by maximum likelihood")
    if model == "fa":
        if args.k is not None and largest_k(args.k) != 1:
            raise EmstudioError("--model fa has one component; use --model mfa to try several K")
        k_text = "1"
    else:
        k_text = args.k or "1-6"
    largest_k(k_text)  # the ranges' syntax, checked before anything is read
    k_range_parts(args.factors, option="--factors", name="q", least=0)
    init = args.init
    if init == "auto":  # the mixtures' default start: factor analysis starts from PCA, a mixture from k-means
        init = "pca" if model == "fa" else "kmeans"
    if model == "fa" and init == "kmeans":
        init = "pca"  # factor analysis starts from PCA
    if init not in SELECT_INITS[model]:
        raise EmstudioError(f"--init {args.init!r}: select --model {model} takes a start method "
                            f"({', '.join(SELECT_INITS[model])}); a start file has one K and q, a grid many")
    return model, k_text, init


def command_select_factor(args, *, note, check_outputs, load_values) -> int:
    """Run the (K, q) grid; ``note`` writes a line on standard error; the others are cli.py's."""
    from emstudio.cli_select import note_jobs, run_interruptibly
    from emstudio.core.factor_selection import parse_factor_range, select_factor_models
    from emstudio.core.selection import available_cores, k_allowed_by_data, largest_k, parse_k_range

    model, k_text, init = _grid_request(args)
    if args.engine == "dask":
        return _select_on_cluster(args, model, k_text, init, note=note, check_outputs=check_outputs)
    check_outputs([args.out], args.data)
    loaded, _, _ = load_values(args)  # factor models are equivariant to units: --standardize changes nothing
    values = loaded.values
    factors = parse_factor_range(args.factors, values.shape[1])
    wanted = largest_k(k_text)
    allowed = k_allowed_by_data(values, wanted)  # K components need K distinct points
    ks = parse_k_range(k_text, at_most=allowed)
    if allowed < wanted:
        note(f"--k {k_text}: the data have {allowed} distinct row{'s' * (allowed != 1)}, so K goes up to {allowed}")
    note_jobs(args.jobs, note, available_cores())
    base = _base_settings(args, model, init)
    base.validate(*values.shape)
    selection, status = run_interruptibly(
        lambda progress: select_factor_models(values, ks, factors, base, criterion=args.criterion, jobs=args.jobs,
                                              column_names=loaded.columns, on_cell=progress, model=model),
        total=len(ks) * len(factors), describe=lambda cell: f"K={cell.k}, q={cell.n_factors}", out=args.out,
        note=note)
    if selection is None:
        return status
    return _report(selection, args, loaded, ks, factors, note)


def _base_settings(args, model: str, init: str):
    from emstudio.core.factor import FactorSettings

    return FactorSettings(k=1, n_factors=0, psi=args.psi or "shared", init=init, seed=args.seed,
                          restarts=args.restarts, max_iter=args.max_iter,
                          tol=args.tol if args.tol is not None else 1e-6)  # the change rule, plain EM


def _select_on_cluster(args, model: str, k_text: str, init: str, *, note, check_outputs) -> int:
    """The (K, q) grid on a Dask cluster (--engine dask): each cell in turn, every pass over all
    rows on the cluster, the starts on one uniform sample of rows (cli_select_dask)."""
    from emstudio.cli_select_dask import ks_of_sample, select_on_a_cluster
    from emstudio.core.factor_selection import parse_factor_range
    from emstudio.distributed.factor import select_factor_on_cluster
    from emstudio.distributed.fit import DEFAULT_SAMPLE_ROWS

    base = _base_settings(args, model, init)
    held: dict = {}
    ks_of = ks_of_sample(k_text, note)

    def run_grid(engine, progress):
        held["factors"] = factors = parse_factor_range(args.factors, engine.n_features)
        selection, held["ks"] = select_factor_on_cluster(
            engine, ks_of, factors, base, sample_rows=args.sample_rows or DEFAULT_SAMPLE_ROWS,
            criterion=args.criterion, model=model, on_cell=progress)
        return selection

    return select_on_a_cluster(args, check_outputs=check_outputs, note=note, covariance_type="full", standardize=False,
                               run_grid=run_grid, describe=lambda cell: f"K={cell.k}, q={cell.n_factors}",
                               report_of=lambda selection, loaded, engine: _report(
                                   selection, args, loaded, held["ks"], held["factors"], note))


def _report(selection, args, loaded, ks, factors, note) -> int:
    from emstudio.errors import EmstudioError

    for line in loaded.report.lines():
        note(line)
    marked = [c for c in selection.cells if c.n_heywood]
    if marked:
        note("restarts that ended in a Heywood case: " + ", ".join(
            f"K={c.k} q={c.n_factors}: {c.n_heywood}/{c.n_restarts}" for c in marked))
    if selection.best is None:
        reasons = {c.error for c in selection.cells if c.error}
        raise EmstudioError("no model could be fitted without a Heywood case (try fewer factors)" +
                            (f" ({'; '.join(sorted(reasons))})" if reasons else ""))
    if args.out:
        import json

        from emstudio.cli import write_outputs
        from emstudio.io.factor_results import factor_selection_to_dict

        content = factor_selection_to_dict(selection, source=os.path.basename(loaded.report.source),
                                           columns=loaded.columns, n_dropped=loaded.report.n_dropped)
        write_outputs([(args.out, json.dumps(content, indent=2, allow_nan=False) + "\n")])
    if not args.quiet and args.out != "-":
        _print_table(selection, args.criterion, ks, factors, sys.stdout)
    return 0


def _print_table(selection, criterion: str, ks, factors, stream) -> None:
    """The criterion table: one row per K (one row for factor analysis), one column per q."""
    from emstudio.cli_table import criterion_table

    cells = {(c.k, c.n_factors): c for c in selection.cells}

    def cell(c):
        mark = "*" if c is selection.best else ("!" if c.heywood else " ")
        return None if c.result is None else (c.criterion(criterion), mark)

    rows = [("fa" if selection.model == "fa" else f"K={k}", [cell(cells[(k, q)]) for q in factors]) for k in ks]
    stream.write(criterion_table(criterion, "every restart a Heywood case", [f"q={q}" for q in factors], rows))
    name = criterion.upper()
    best = selection.best
    what = ("factor analysis" if selection.model == "fa"
            else f"K={best.k} factor analysers, Ψ {'shared' if selection.psi == 'shared' else 'per component'}")
    stream.write(f"chosen: {what}, q={best.n_factors} ({name} {best.criterion(criterion):.4f})\n")
