"""`emstudio fit --engine dask --classes COLUMN`: the fit compared with known classes, as the
in-memory `fit --classes` compares it (core.classes: confusion table, adjusted Rand index,
classification error).

Everything the comparison needs is a sum over rows: each worker reads its block again with the
classes' column, gives each row its most responsible component under the final θ (the core's own
pass, core.block_pass.block_sums) and counts rows per (class, component); the client adds the
counts in block order and makes the comparison from the table (core.classes.compare_table). The
misclassified rows are counted, not listed (the command prints their number only).
"""

from __future__ import annotations

import numpy as np

from emstudio.core.block_pass import block_sums, plan_pass
from emstudio.core.classes import class_codes_of, compare_table
from emstudio.distributed import tasks
from emstudio.distributed.sources import BlockSpec, LoadedBlock, load_table_block
from emstudio.errors import DataError
from emstudio.io._common import short


def class_counts(spec: BlockSpec, columns: tuple[str, ...] | None, classes: str, frame: tasks.UnitFrame, layout,
                 plan, standardisation=None) -> tuple[str, dict[str, np.ndarray], int]:
    """(the classes' column name, {class: rows per component (K,)}, rows without a class) of one
    block (on a worker)."""
    loaded = load_table_block(spec, list(columns) if columns else None, classes)
    values = loaded.values if standardisation is None else standardisation.apply(loaded.values)
    units = tasks.column_units(LoadedBlock(values, loaded.columns, 0), frame)
    resp = np.empty((units.shape[1], plan.k))
    block_sums(layout, plan, units, resp_out=resp)
    components = resp.argmax(axis=1)
    known = loaded.classes
    counts = {name: np.bincount(components[known.codes == code], minlength=plan.k)
              for code, name in enumerate(known.names)}
    return known.column, counts, int(np.count_nonzero(known.codes < 0))


def compare_on_cluster(engine, params, classes: str):
    """The ClassComparison of ``engine``'s data (a ClusterEngine made with ``classes``) against
    the components of ``params`` (θ in the units fitted: z-scores when the engine standardised)."""
    from emstudio.io.data import MAX_CLASSES

    if any(spec.kind in ("npy", "zarr") for spec in engine.blocks):
        raise DataError("--classes with --engine dask needs table files (CSV, Parquet): an array has no "
                        "column of class names")
    plan = plan_pass(engine.layout, params)
    futures = [engine.client.submit(class_counts, spec, engine.wanted_columns, classes, engine.frame, engine.layout,
                                    plan, engine.standardisation, key=f"emstudio-classes-{engine.run}-{b}")
               for b, spec in enumerate(engine.blocks)]
    engine.track(futures)
    parts = engine.client.gather(futures)
    engine.track([])
    totals: dict[str, np.ndarray] = {}
    without = 0
    for _, counts, n_without in parts:  # block order
        for name, row in counts.items():
            totals[name] = totals[name] + row if name in totals else row
        without += n_without
    column = parts[0][0]
    paths = {spec.path for spec in engine.blocks}
    where = f"{engine.blocks[0].name}: " if len(paths) == 1 else ""
    # The checks of emstudio.io.loaded.known_classes, on the whole data's kept rows (a block's own
    # would count only its rows).
    if not totals:
        raise DataError(f"{where}column {short(column)} has no values to read as classes")
    if len(totals) > MAX_CLASSES:
        raise DataError(f"{where}column {short(column)} has {len(totals)} different values; known classes are at most "
                        f"{MAX_CLASSES} groups")
    _, names = class_codes_of(list(totals))  # R's order, as the in-memory classes are ordered
    table = np.array([totals[name] for name in names], dtype=np.int64).reshape(len(names), params.n_components)
    return compare_table(column, names, table, without)
