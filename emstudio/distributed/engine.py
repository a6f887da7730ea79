"""EM passes over blocks of rows held (or read) by a Dask cluster's workers.

:class:`ClusterEngine` has the interface the core's EM loops need of an engine (``run_pass``,
``n_samples``, ``covariance_type``, ``scale``, ``variance_floor``), so core.em.fit_on_engine runs
the very same fit on it: M-steps on the client, each pass's per-block mathematics on the workers
(core.block_pass, unchanged).

Set-up (once): the blocks are read; their facts (rows, columns, extremes) gathered; the column
units found exactly as core.scaling finds them in memory (largest |x| → pre-scale, mean → centre,
spread → scale; each a sum over blocks); the blocks converted to column units, transposed (d, m),
and kept in the workers' memory when they fit (else every pass reads them again).

Every pass: the K-sized plan of θ (core.block_pass.plan_pass) goes with one task per block (so a
lost result can be remade from its task alone), each task computes its block's sums, and the sums
are added up a fixed tree over the block indices (:data:`FAN_IN` children per node, in block
order): the same numbers on any number of workers, in any order the scheduler runs the tasks, and
after a lost worker's blocks are recomputed.
"""

from __future__ import annotations

import time
import uuid

import numpy as np

from emstudio.core.block_pass import PassLayout, PassResult, finish_pass, plan_pass, radius_from_extremes
from emstudio.core.checks import ColumnSummary
from emstudio.core.scaling import noise_variance, power_of_two_near
from emstudio.distributed import tasks
from emstudio.distributed.sources import PART_KINDS, BlockSpec, estimated_bytes
from emstudio.errors import DataError, EmstudioError

#: Children per node of the reduction tree: few levels (each a scheduler round trip), small nodes.
FAN_IN = 8
#: Partial sums gathered to the client to be added there (a round trip less than a cluster level).
GATHER_AT_MOST = 64
#: The plan of θ travels inside each task up to this many bytes over all blocks; above, it is
#: broadcast to the workers once per pass (one round trip more).
PLAN_INLINE_BYTES = 8 << 20
#: The blocks are kept in the workers' memory when about twice their size (as read, then in column
#: units, while converting) takes at most this share of the memory the workers are given.
PERSIST_SHARE = 0.5


class PassInterrupted(EmstudioError):
    """A pass was given up because its engine's ``interrupt()`` said so (the window's Stop): its
    tasks are cancelled; the engine is usable for the next pass."""


#: Seconds between two looks at ``interrupt()`` while a pass's results are awaited.
INTERRUPT_POLL_SECONDS = 0.02


def fixed_tree_sum(client, parts: list, key: str, wait=None):
    """parts[0] + … + parts[-1] (futures of BlockSums), added up a fixed tree of :data:`FAN_IN`
    children per node over the parts' order (never the order in which they finish). The levels
    with more than :data:`GATHER_AT_MOST` nodes run on the cluster, the rest on the client after
    one gather: the same tree, so the same numbers, with fewer scheduler round trips."""
    level = 0
    while len(parts) > GATHER_AT_MOST:
        parts = [client.submit(tasks.add_in_order, *parts[i:i + FAN_IN], key=f"{key}-sum{level}-{i}")
                 for i in range(0, len(parts), FAN_IN)]
        level += 1
    if wait is not None:
        wait(parts)
    values = client.gather(parts)
    while len(values) > 1:
        values = [tasks.add_in_order(*values[i:i + FAN_IN]) for i in range(0, len(values), FAN_IN)]
    return values[0]


class ClusterEngine:
    """Passes over DATA's blocks on the cluster of ``client`` for one covariance type.

    ``persist``: keep the blocks in the workers' memory (True), read them for every pass (False),
    or decide by their size against the workers' memory (None). Use as a context manager or call
    :meth:`close`, which releases the blocks and cancels whatever is still running.

    ``classes``: a column of known classes (`--classes`), never a data column; compared with the
    components after the fit (emstudio.distributed.classes).

    ``standardize``: the fit runs on the columns' z-scores (``standardisation``, found on the
    cluster in one pass), as `emstudio fit --standardize` does in memory; every pass, sample and
    summary is then of z, and the caller gives the result back in the data's units.
    """

    def __init__(self, client, blocks: list[BlockSpec], covariance_type: str, columns: list[str] | None = None,
                 persist: bool | None = None, standardize: bool = False, classes: str | None = None):
        self.client = client
        self.covariance_type = covariance_type
        self.run = uuid.uuid4().hex[:10]
        self.n_blocks = len(blocks)
        self.passes = 0
        self.pass_seconds = 0.0
        self._pending: list = []
        self._units: list = []
        self._keys = 0
        self.blocks = list(blocks)
        self.standardisation = None
        self.classes = classes
        #: Asked while a pass waits for its results (None: never): True gives the pass up at once
        #: (PassInterrupted) instead of after its blocks are reduced (the window's Stop).
        self.interrupt = None
        self.persisted = self._fits_in_memory(blocks) if persist is None else persist
        try:
            self._set_up(blocks, columns, standardize, classes)
        except BaseException:
            self.close()
            raise

    # ----------------------------------------------------------------- set-up
    def _fits_in_memory(self, blocks: list[BlockSpec]) -> bool:
        workers = self.client.scheduler_info().get("workers", {}).values()
        limits = [w.get("memory_limit") or 0 for w in workers]
        if not limits or any(limit == 0 for limit in limits):  # 0: no limit set
            return True
        return 2 * estimated_bytes(blocks) <= PERSIST_SHARE * sum(limits)

    def _map(self, function, *args_per_block, name: str, extra=()):
        """Submit ``function(block args…, *extra)`` per block; the futures in block order."""
        futures = [self.client.submit(function, *args, *extra, key=f"emstudio-{name}-{self.run}-{b}")
                   for b, args in enumerate(zip(*args_per_block))]
        self._pending.extend(futures)
        return futures

    def _gather(self, futures) -> list:
        values = self.client.gather(futures)
        self._pending = []
        return values

    def _set_up(self, blocks: list[BlockSpec], columns: list[str] | None, standardize: bool,
                classes: str | None) -> None:
        wanted = tuple(columns) if columns else None
        self.left_out: tuple[str, ...] = ()
        parts = [spec for spec in blocks if spec.kind in PART_KINDS]
        if parts:
            # A part of a file alone may not show which columns the file uses (a column empty in
            # the first part, text further on, row numbers counting on): every part reports its
            # columns first, and the file's decision is taken from all of them.
            from emstudio.distributed.columns import merged_columns, survey_parts

            wanted, self.left_out = merged_columns(parts, survey_parts(self.client, parts, classes, self.run),
                                                   wanted, classes)
        elif classes:
            # With known classes: the first block's data columns leave the classes' column out.
            first = self.client.submit(tasks.column_names, tasks.Unread(blocks[0], wanted, None, classes),
                                       key=f"emstudio-columns-{self.run}")
            self._pending.append(first)
            wanted = tuple(self._gather([first])[0])
        self.wanted_columns = wanted
        unread = [tasks.Unread(spec, wanted) for spec in blocks]
        read = self._map(tasks.loaded, unread, name="read") if self.persisted else unread
        facts = self._gather(self._map(tasks.facts, read, name="facts"))
        self.columns = facts[0][0]
        for spec, fact in zip(blocks, facts):
            if fact[0] != self.columns:
                raise DataError(f"{spec.name} has the columns {', '.join(fact[0])} but {blocks[0].name} has "
                                f"{', '.join(self.columns)}: every file must have the same columns "
                                "(choose common ones with --columns)")
        self.block_rows = np.array([fact[1] for fact in facts], dtype=np.int64)
        self.block_rows_read = self.block_rows + np.array([fact[2] for fact in facts], dtype=np.int64)
        self.n_samples = int(self.block_rows.sum())
        self.n_features = len(self.columns)
        self.n_dropped = sum(fact[2] for fact in facts)
        self.notes = tuple(dict.fromkeys(note for fact in facts for note in fact[3]))
        self._read = read
        self._unread = unread
        if self.n_samples == 0:
            raise DataError("no usable samples (every row was dropped or the files have none)")
        top = np.max([fact[4] for fact in facts], axis=0)
        bottom = np.min([fact[5] for fact in facts], axis=0)
        if standardize:
            self.standardisation = self._standardisation(read, top, bottom)
            z = self.standardisation
            unread = self._unread = [tasks.Unread(spec, wanted, z) for spec in blocks]
            read = self._map(tasks.standardised, read, name="z", extra=(z,)) if self.persisted else unread
            self._read = read
            # x ↦ (x − loc)/scale is monotone in floating point too: the extremes of z exactly
            top, bottom = z.apply(top), z.apply(bottom)
        magnitude = np.maximum(top, -bottom)
        n = self.n_samples
        # The arithmetic of core.scaling.scaled_columns, its sums taken block by block.
        pre = power_of_two_near(magnitude, floor=True)
        centre_pre = self._tree_total(self._map(tasks.pre_sums, read, name="sums", extra=(pre,))) / n
        with np.errstate(over="ignore", invalid="ignore"):
            squares = self._tree_total(self._map(tasks.centred_squares, read, name="squares",
                                                 extra=(pre, centre_pre)))
            post = power_of_two_near(np.sqrt(squares / n))
        self.frame = tasks.UnitFrame(pre, centre_pre, post)
        self.centre = centre_pre * pre
        self.scale = pre * post
        self.variance_floor = noise_variance(magnitude, self.scale)
        # The frame, the layout and each pass's plan are small: they travel inside the tasks, so
        # that every result can be remade from its task alone (a lost worker's blocks included).
        frame = self.frame
        # Persisted: the blocks in column units stay in the workers' memory; else each task reads.
        units = self._map(tasks.column_units, read, name="units", extra=(frame,)) if self.persisted else unread
        self._units = units
        unit_facts = self._gather(self._map(tasks.unit_facts, units, name="ufacts", extra=(frame,)))
        top_u = np.max([f[0] for f in unit_facts], axis=0)
        bottom_u = np.min([f[1] for f in unit_facts], axis=0)
        variances = self._tree_total([f[2] for f in unit_facts]) / n
        self.summary = ColumnSummary(top, bottom, variances, self.scale)
        self.layout = PassLayout(self.covariance_type, n, self.centre, self.scale, self.variance_floor,
                                 radius_from_extremes(top_u, bottom_u))

    def _standardisation(self, read, top: np.ndarray, bottom: np.ndarray):
        """The columns' means and standard deviations, one pass over the blocks, with the
        arithmetic of core.transform.Standardisation.of (divided by the largest |x| first); the
        blocks' parts combined in block order (the same numbers on any number of workers)."""
        from emstudio.core.transform import Standardisation

        magnitude = np.maximum(top, -bottom)
        magnitude = np.where((magnitude > 0) & np.isfinite(magnitude), magnitude, 1.0)
        count, mean, squares = 0, np.zeros(self.n_features), np.zeros(self.n_features)
        for m, block_mean, block_squares in self._gather(self._map(tasks.moments, read, name="moments",
                                                                   extra=(magnitude,))):
            if m == 0:
                continue
            total = count + m
            delta = block_mean - mean
            mean = mean + delta * (m / total)
            squares = squares + block_squares + delta ** 2 * (count * m / total)
            count = total
        scale = np.sqrt(squares / count) * magnitude
        standardisation = Standardisation(mean * magnitude, np.where(scale > 0, scale, 1.0))
        problem = standardisation.problem(self.columns)
        if problem:
            raise DataError(problem)
        return standardisation

    def conjugate_prior(self, k: int, covariance_type: str):
        """mclust's default conjugate prior for K components of this data (core.prior), its mean
        and covariance found in one pass over the blocks (:meth:`data_moments`)."""
        from emstudio.core.prior import prior_model, prior_of_moments

        prior_model(covariance_type, self.n_features)  # refused in one line before the pass
        n, mean, scatter = self.data_moments()
        return prior_of_moments(n, mean, scatter / max(n - 1, 1), k, covariance_type)

    def data_moments(self) -> tuple[int, np.ndarray, np.ndarray]:
        """(rows n, mean (d,), scatter Σ (x − mean)(x − mean)ᵀ (d, d)) of the data (z with
        --standardize), in one pass over the blocks, kept for later calls (a grid's other cells)."""
        if getattr(self, "_moments", None) is None:
            count, mean, scatter = 0, np.zeros(self.n_features), np.zeros((self.n_features, self.n_features))
            # Chan et al.'s pairwise update over the blocks' (rows, mean, scatter), in block order.
            for m, block_mean, block_scatter in self._gather(self._map(tasks.unit_moments, self._units,
                                                                       name="cov", extra=(self.frame,))):
                if m == 0:
                    continue
                total = count + m
                delta = block_mean - mean
                mean = mean + delta * (m / total)
                scatter = scatter + block_scatter + np.outer(delta, delta) * (count * m / total)
                count = total
            # Back from column units u = (x / pre − centre_pre) / post (pre, post powers of two).
            mean_x = (mean * self.frame.post + self.frame.centre_pre) * self.frame.pre
            self._moments = (count, mean_x, scatter * np.outer(self.scale, self.scale))
        return self._moments

    def _tree_total(self, values) -> np.ndarray:
        """Σ over blocks of per-block (d,) arrays (futures or arrays), added in a fixed tree over
        block order."""
        if values and hasattr(values[0], "key"):
            values = self._gather(values)
        while len(values) > 1:
            values = [np.add.reduce(values[i:i + FAN_IN], axis=0) for i in range(0, len(values), FAN_IN)]
        return values[0]

    # ----------------------------------------------------------------- a uniform sample of rows
    def sample(self, rows: int, seed: int) -> np.ndarray:
        """A uniform sample of ``rows`` rows without replacement, in data order (m, d), as read;
        every row when the data has no more. The same rows for the same seed and data."""
        n = self.n_samples
        if rows >= n:
            chosen = np.arange(n)
        else:
            chosen = np.sort(np.random.default_rng(seed).choice(n, size=rows, replace=False))
        edges = np.concatenate([[0], np.cumsum(self.block_rows)])
        source = self._read or self._unread
        futures = []
        for b in range(self.n_blocks):
            local = chosen[(chosen >= edges[b]) & (chosen < edges[b + 1])] - edges[b]
            if len(local):
                futures.append(self.client.submit(tasks.take_rows, source[b], local,
                                                  key=f"emstudio-sample-{self.run}-{seed}-{b}"))
        self._pending.extend(futures)
        parts = self._gather(futures)
        self._pending = []
        return np.concatenate(parts, axis=0) if parts else np.empty((0, self.n_features))

    def release_read_blocks(self) -> None:
        """Drop the blocks as read from the workers' memory: they live on in column units (and a
        later sample reads its rows from storage)."""
        # Dropping the futures releases them; the scheduler keeps how to remake them, should a
        # worker holding blocks in column units be lost.
        self._read = None

    # ----------------------------------------------------------------- the pass
    def run_pass(self, params) -> PassResult:
        """One pass over every block under θ = ``params``: the same PassResult as core.engine's."""
        started = time.perf_counter()
        plan = plan_pass(self.layout, params)
        # Keys never repeat, even after a pass that failed (SQUAREM tries parameters that may not
        # be usable): the scheduler would take a repeated key for the same task.
        self._keys += 1
        key = f"emstudio-pass-{self.run}-{self._keys}"
        size = sum(a.nbytes for a in (plan.weights, plan.means_c, plan.inv_chol, plan.constant) if a is not None)
        inline = size * len(self._units) <= PLAN_INLINE_BYTES
        plan_arg = plan if inline else self.client.scatter(plan, broadcast=True, hash=False)
        parts = [self.client.submit(tasks.pass_sums, units, self.frame, self.layout, plan_arg,
                                    key=f"{key}-{b}") for b, units in enumerate(self._units)]
        self._pending = parts if inline else parts + [plan_arg]
        wait = self._wait_or_interrupt if self.interrupt is not None else None
        result = finish_pass(self.layout, plan, params, fixed_tree_sum(self.client, parts, key, wait))
        self._pending = []
        self.passes += 1
        self.pass_seconds += time.perf_counter() - started
        return result

    def _wait_or_interrupt(self, futures: list) -> None:
        """Wait until ``futures`` are done, looking at ``interrupt()`` at least every
        INTERRUPT_POLL_SECONDS; when it says so, cancel the pass's tasks and raise PassInterrupted."""
        pause = 0.001  # short first: a small pass is not held up by the looking
        while True:
            if self.interrupt():  # asked first: an interrupted run never takes another pass's result
                try:
                    self.client.cancel(list(self._pending))
                except Exception:  # a closing connection: nothing left to cancel
                    pass
                self._pending = []
                raise PassInterrupted("the pass was stopped")
            if all(future.done() for future in futures):
                return
            time.sleep(pause)
            pause = min(2 * pause, INTERRUPT_POLL_SECONDS)

    @property
    def rows_per_second(self) -> float:
        return self.n_samples * self.passes / self.pass_seconds if self.pass_seconds > 0 else 0.0

    def use_covariance_type(self, covariance_type: str) -> None:
        """Run the next passes for another covariance type (a grid's next row): the blocks and
        the layout's d-sized facts stay, only the model changes."""
        import dataclasses

        self.layout = dataclasses.replace(self.layout, covariance_type=covariance_type)
        self.covariance_type = covariance_type

    def track(self, futures: list) -> None:
        """Futures of work beside the passes (the labels file's pieces), cancelled by :meth:`close`."""
        self._pending = list(futures)

    # ----------------------------------------------------------------- tear-down
    def close(self) -> None:
        """Cancel what still runs and release the blocks held by the workers."""
        futures = [f for f in self._pending + list(self._units or []) if hasattr(f, "key")]
        futures += [f for f in (getattr(self, "_read", None) or []) if hasattr(f, "key")]
        if futures:
            try:
                self.client.cancel(futures)
            except Exception:  # a closing or lost connection: the client's own close releases them
                pass
        self._pending, self._units, self._read = [], [], None

    def __enter__(self) -> "ClusterEngine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
