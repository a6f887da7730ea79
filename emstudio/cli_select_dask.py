"""`emstudio select DATA --engine dask`: the grid's cells fitted on a Dask cluster, one after another
(README, "Data beyond one machine"); the table and the selection file as `emstudio select` makes them."""

from __future__ import annotations

import sys
from types import SimpleNamespace

from emstudio.errors import EmstudioError


def _refuse_unsupported(args) -> None:
    if getattr(args, "sheet", None):
        raise EmstudioError("--sheet is not available with --engine dask")
    if args.jobs is not None:
        raise EmstudioError("--jobs is for the in-memory engine; with --engine dask the cluster's workers share "
                            "each pass (--workers or --scheduler)")
    if args.data == "-":
        raise EmstudioError("--engine dask reads files the workers can open, not standard input")
    if args.scheduler and args.workers is not None:
        raise EmstudioError("--workers is for the local cluster; an existing cluster (--scheduler) has its own")


def ks_of_sample(k_text: str, note):
    """``ks_of(sample, n_rows)`` for a grid on a cluster: the K of ``k_text`` bounded by the
    distinct rows of the sample (every row when it holds them), saying so through ``note``."""
    from emstudio.core.selection import k_allowed_by_data, largest_k, parse_k_range

    wanted = largest_k(k_text)

    def ks_of(sample, n_rows):
        allowed = k_allowed_by_data(sample, wanted)
        if allowed < wanted:
            rows = "the data have" if sample.shape[0] == n_rows else f"the sample of {sample.shape[0]} rows has"
            note(f"--k {k_text}: {rows} {allowed} distinct row{'s' * (allowed != 1)}, so K goes up to {allowed}")
        return parse_k_range(k_text, at_most=allowed)

    return ks_of


def command_select_dask(args, *, prog: str, check_outputs, note, report, base, ks_of, types) -> int:
    """The mixtures' grid: ``base``, the grid's FitSettings; ``ks_of(sample, n)``: the K to try,
    bounded by the distinct rows of the sample (all the data's rows when the sample holds them);
    ``report``: cli_select's."""
    from emstudio.distributed.fit import DEFAULT_SAMPLE_ROWS
    from emstudio.distributed.select import select_on_cluster

    held: dict = {}

    def run_grid(engine, progress):
        if base.prior == "conjugate":  # every type of the grid must have the prior: refused before any fit
            from emstudio.core.prior import prior_model

            for covariance_type in types:
                prior_model(covariance_type, engine.n_features)
        sample = engine.sample(args.sample_rows or DEFAULT_SAMPLE_ROWS, base.seed)
        engine.release_read_blocks()
        held["ks"] = ks = ks_of(sample, engine.n_samples)
        return select_on_cluster(engine, sample, ks, types, base, criterion=args.criterion,
                                 warm_start=args.warm_start, on_cell=progress)

    def report_of(selection, loaded, engine) -> int:
        return report(selection, args, prog, loaded, held["ks"], types, engine.standardisation, note,
                      engine_settings={"engine": "dask"})

    return select_on_a_cluster(args, check_outputs=check_outputs, note=note, covariance_type=types[0],
                               standardize=args.standardize, run_grid=run_grid,
                               describe=lambda c: f"{c.covariance_type}, K={c.k}", report_of=report_of)


def select_on_a_cluster(args, *, check_outputs, note, covariance_type: str, standardize: bool, run_grid, describe,
                        report_of) -> int:
    """Open the cluster and DATA's blocks, run ``run_grid(engine, progress) → selection`` with
    Ctrl+C and the cluster's failures handled as `fit --engine dask` does, then
    ``report_of(selection, loaded, engine)`` (``loaded``: what cli_select's report reads of data
    loaded in memory: columns and the lines about the rows)."""
    from emstudio.cli_dask import _cluster_error, _passes
    from emstudio.cli_select import run_interruptibly
    from emstudio.distributed.cluster import DEFAULT_CONNECT_TIMEOUT, DEFAULT_WORKERS, open_client, require_dask
    from emstudio.distributed.sources import array_shape, find_blocks, npy_columns

    _refuse_unsupported(args)
    require_dask()
    blocks = find_blocks(args.data, args.block_rows, block_bytes=args.block_bytes)
    check_outputs([args.out], [spec.path for spec in blocks])
    columns = [c.strip() for c in args.columns.split(",")] if args.columns else None
    if blocks[0].kind in ("npy", "zarr"):
        npy_columns(array_shape(blocks[0].path, blocks[0].kind)[1], columns)
    persist = {"auto": None, "yes": True, "no": False}[args.persist or "auto"]
    held: dict = {}

    def grid(progress):
        with open_client(args.scheduler, args.workers or DEFAULT_WORKERS,
                         args.connect_timeout or DEFAULT_CONNECT_TIMEOUT) as client:
            from emstudio.distributed.engine import ClusterEngine

            chosen = blocks
            if args.block_rows is None and args.block_bytes is None:  # equal blocks, at least two per worker
                chosen = find_blocks(args.data, None, 2 * max(1, len(client.scheduler_info().get("workers", {}))))
            with ClusterEngine(client, chosen, covariance_type, columns, persist, standardize=standardize) as engine:
                held["engine"] = engine
                return run_grid(engine, progress)

    try:
        selection, status = run_interruptibly(grid, total=None, describe=describe, out=args.out, note=note)
    except EmstudioError:
        raise
    except Exception as exc:
        problem = _cluster_error(exc)
        if problem is None:
            raise
        raise problem from None
    if selection is None:
        return status
    engine = held["engine"]
    lines = [f"{engine.n_samples} rows, {engine.n_features} column{'s' * (engine.n_features != 1)} "
             f"({', '.join(engine.columns)}) in {engine.n_blocks} block{'s' * (engine.n_blocks != 1)} on "
             f"{args.scheduler or f'a local cluster of {args.workers or DEFAULT_WORKERS} workers'}; "
             f"{_passes(engine)}"]
    lines += list(engine.left_out)
    if engine.n_dropped:
        lines.append(f"dropped {engine.n_dropped} row{'s' * (engine.n_dropped != 1)} with a missing, NaN or "
                     "infinite value")
    lines += [f"note: {n}" for n in engine.notes]
    loaded = SimpleNamespace(columns=engine.columns, report=SimpleNamespace(
        lines=lambda: lines, source=args.data.rstrip("/"), n_dropped=engine.n_dropped))
    sys.stderr.flush()
    return report_of(selection, loaded, engine)
