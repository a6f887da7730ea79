"""What the cluster's workers run: small pure functions of one block (or of partial sums).

A block argument is a :class:`~emstudio.distributed.sources.LoadedBlock` (persisted in the
cluster's memory), its rows in column units (d, m) (persisted after the set-up), or an
:class:`Unread` block that the task reads from storage itself (data that does not fit in the
workers' memory is read again for every pass). The EM mathematics is core.block_pass's, unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emstudio.core.block_pass import BlockSums, PassLayout, PassPlan, add_block_sums, block_sums
from emstudio.distributed.sources import BlockSpec, LoadedBlock, read_block


@dataclass(frozen=True)
class Unread:
    """A block that is read from storage by each task that needs it (and z-scored by
    ``standardisation``, a core.transform.Standardisation, when given: `--standardize`)."""

    spec: BlockSpec
    columns: tuple[str, ...] | None
    standardisation: object | None = None
    classes: str | None = None  # a column of known classes, left out of the data columns


@dataclass(frozen=True, eq=False)
class UnitFrame:
    """Column units u = ((x / pre) − centre_pre) / post, the arithmetic of core.scaling.scaled_columns
    (pre and post are powers of two, so only the subtraction rounds)."""

    pre: np.ndarray
    centre_pre: np.ndarray
    post: np.ndarray


def loaded(block) -> LoadedBlock:
    """The block as read (reading it now when it is Unread)."""
    if isinstance(block, Unread):
        part = read_block(block.spec, list(block.columns) if block.columns else None, block.classes)
        return part if block.standardisation is None else standardised(part, block.standardisation)
    return block


def standardised(block, standardisation) -> LoadedBlock:
    """The block as read with its values z-scored, (x − loc) / scale (core.transform.Standardisation)."""
    part = loaded(block)
    return LoadedBlock(standardisation.apply(part.values), part.columns, part.n_dropped, part.notes)


def moments(block, magnitude: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """(rows m, mean (d,), Σ (s − mean)² (d,)) of s = x / magnitude over the block's rows: the
    parts that add up to the columns' means and standard deviations (Chan et al.'s pairwise
    update), as core.transform.Standardisation.of computes them on data in memory."""
    scaled = loaded(block).values / magnitude
    m = scaled.shape[0]
    if m == 0:
        return 0, np.zeros(scaled.shape[1]), np.zeros(scaled.shape[1])
    mean = scaled.mean(axis=0)
    scaled -= mean
    return m, mean, np.einsum("ij,ij->j", scaled, scaled)


def column_names(block) -> tuple[str, ...]:
    """The columns a block as read has (those its reader chose, when none were asked for)."""
    return loaded(block).columns


def facts(block) -> tuple:
    """(columns, rows kept, rows dropped, notes, largest (d,), smallest (d,)) of a block as read."""
    part = loaded(block)
    values = part.values
    d = values.shape[1]
    top = values.max(axis=0) if values.shape[0] else np.full(d, -np.inf)
    bottom = values.min(axis=0) if values.shape[0] else np.full(d, np.inf)
    return part.columns, values.shape[0], part.n_dropped, part.notes, top, bottom


def pre_sums(block, pre: np.ndarray) -> np.ndarray:
    """(d,) Σ x / pre over the block's rows."""
    return (loaded(block).values / pre).sum(axis=0)


def centred_squares(block, pre: np.ndarray, centre_pre: np.ndarray) -> np.ndarray:
    """(d,) Σ (x / pre − centre_pre)² over the block's rows."""
    u = loaded(block).values / pre
    u -= centre_pre
    return np.einsum("ij,ij->j", u, u)


def column_units(block, frame: UnitFrame) -> np.ndarray:
    """The block's rows in column units, transposed and contiguous (d, m), as core.engine holds them."""
    if isinstance(block, np.ndarray):
        return block
    u = loaded(block).values / frame.pre
    u -= frame.centre_pre
    u /= frame.post
    return np.ascontiguousarray(u.T)


def unit_facts(block, frame: UnitFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(largest (d,), smallest (d,), Σ u² (d,)) of a block in column units."""
    units = column_units(block, frame)
    d, m = units.shape
    if m == 0:
        return np.full(d, -np.inf), np.full(d, np.inf), np.zeros(d)
    return units.max(axis=1), units.min(axis=1), np.einsum("ij,ij->i", units, units)


def unit_moments(block, frame: UnitFrame) -> tuple[int, np.ndarray, np.ndarray]:
    """(rows m, mean (d,), scatter Σ (u − mean)(u − mean)ᵀ (d, d)) of a block in column units: the
    parts of the data's covariance (a conjugate prior's scale)."""
    units = column_units(block, frame)
    d, m = units.shape
    if m == 0:
        return 0, np.zeros(d), np.zeros((d, d))
    mean = units.mean(axis=1)
    centred = units - mean[:, None]
    return m, mean, centred @ centred.T


def take_rows(block, rows: np.ndarray) -> np.ndarray:
    """The block's rows (as read, data units) at the block-local indices ``rows``."""
    return loaded(block).values[rows]


def pass_sums(block, frame: UnitFrame, layout: PassLayout, plan: PassPlan) -> BlockSums:
    """The block's part of one pass (core.block_pass.block_sums)."""
    return block_sums(layout, plan, column_units(block, frame))


def add_in_order(*parts: BlockSums) -> BlockSums:
    """parts[0] + parts[1] + … added left to right (one node of the fixed reduction tree)."""
    total = parts[0]
    for part in parts[1:]:
        total = add_block_sums(total, part)
    return total


def survey(spec: BlockSpec, classes: str | None = None):
    """What a part of a file says of the file's columns (emstudio.io.parts.survey_part), before
    any column is chosen: the client merges the parts' surveys (emstudio.distributed.columns)."""
    from emstudio.io.parts import survey_part

    if spec.kind == "parquet":
        return survey_part(spec.path, classes=classes, row_range=(spec.start, spec.stop))
    return survey_part(spec.path, classes=classes, byte_range=(spec.start, spec.stop), head_bytes=spec.head)
