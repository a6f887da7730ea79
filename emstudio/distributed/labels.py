"""`emstudio fit --engine dask --labels LABELS.csv`: the labels file of a fit on a Dask cluster.

The file is the one `emstudio fit --labels` writes in memory (docs/formats.md, "Labels file").
Each worker reads a piece of the rows again, computes their responsibilities under the final θ
with the core's own pass (core.block_pass.block_sums, the function every pass runs) and writes
the piece's lines (io.results.labels_rows); the client writes the pieces in row order as they
arrive, holding only a few at a time, so a file of any number of rows is written without
gathering it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from emstudio.core.block_pass import block_sums, plan_pass
from emstudio.distributed import tasks
from emstudio.distributed.sources import BlockSpec, LoadedBlock, read_block_with_rows

#: Rows per piece of a `.npy` file or Zarr array: the text of a piece (~100 bytes a row) stays
#: tens of MB, on the worker that writes it and on the client that receives it.
LABEL_PIECE_ROWS = 1 << 18
#: Pieces computed ahead of the one being written, per worker.
PIECES_AHEAD_PER_WORKER = 2


@dataclass(frozen=True)
class LabelPiece:
    """Rows of one block (``spec``, a whole table file or rows of an array) and the 0-based number,
    over all of DATA's data rows, of its first row (the files' rows numbered on, as if one file)."""

    spec: BlockSpec
    first_row: int


def label_pieces(blocks: list[BlockSpec], rows_read: list[int], piece_rows: int | None = None) -> list[LabelPiece]:
    """The pieces of ``blocks`` in row order; ``rows_read`` (per block): its data rows, dropped ones
    included (so the row numbers skip a dropped row, as in memory); ``piece_rows``: at most this
    many rows of an array per piece (default :data:`LABEL_PIECE_ROWS`)."""
    piece_rows = piece_rows or LABEL_PIECE_ROWS
    pieces = []
    offset = 0
    for spec, rows in zip(blocks, rows_read):
        if spec.kind in ("npy", "zarr"):
            for a in range(spec.start, spec.stop, piece_rows):
                piece = BlockSpec(spec.kind, spec.path, a, min(a + piece_rows, spec.stop))
                pieces.append(LabelPiece(piece, offset + a - spec.start))
        else:
            pieces.append(LabelPiece(spec, offset))
        offset += int(rows)
    return pieces


def label_lines(piece: LabelPiece, columns: tuple[str, ...] | None, frame: tasks.UnitFrame, layout, plan,
                standardisation=None) -> str:
    """The labels file's lines of a piece's rows (on a worker): read, put in the fit's units (z
    with ``standardisation``, then column units), their responsibilities by the core's pass."""
    from emstudio.io.results import labels_rows

    block, positions, row_names, cell_text = read_block_with_rows(piece.spec, list(columns) if columns else None)
    fitted = block if standardisation is None else tasks.standardised(block, standardisation)
    units = tasks.column_units(LoadedBlock(fitted.values, block.columns, block.n_dropped), frame)
    resp = np.empty((units.shape[1], plan.k))
    block_sums(layout, plan, units, resp_out=resp)
    row_ids = row_names if row_names is not None else (piece.first_row + positions + 1).astype(str)
    return labels_rows(block.values, resp, row_ids=row_ids, cell_text=cell_text)


def write_labels(engine, params, write: Callable[[bytes], None]) -> None:
    """Write the labels file of ``engine``'s data under ``params`` (θ in the units fitted: z-scores
    when the engine standardised) through ``write``, header first, then every piece in row order."""
    from emstudio.io.results import labels_header

    plan = plan_pass(engine.layout, params)
    pieces = label_pieces(engine.blocks, list(engine.block_rows_read))
    wanted = engine.wanted_columns
    client = engine.client
    ahead = PIECES_AHEAD_PER_WORKER * max(1, len(client.scheduler_info().get("workers", {})))
    key = f"emstudio-labels-{engine.run}"
    write(labels_header(engine.columns, params.n_components).encode("utf-8"))
    running: list = []
    submitted = 0
    for _ in range(len(pieces)):
        while submitted < len(pieces) and len(running) < ahead:
            running.append(client.submit(label_lines, pieces[submitted], wanted, engine.frame, engine.layout, plan,
                                         engine.standardisation, key=f"{key}-{submitted}"))
            submitted += 1
        engine.track(running)  # cancelled should the command stop (Ctrl+C)
        first = running.pop(0)
        text = first.result()
        first.release()
        write(text.encode("utf-8"))
    engine.track([])
