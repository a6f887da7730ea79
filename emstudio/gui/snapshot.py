"""What the worker sends the window: immutable snapshots of the fit (:class:`Frame`, with the
:class:`Colours` of the drawn points), the requests and outcomes of runs, and the drawn points of
the data (:class:`DataView`, built and coloured on the worker's thread), and what was loaded
(:class:`Dataset`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from emstudio.core.checks import identical_components
from emstudio.core.classes import KnownClasses
from emstudio.core.edits import Collapse
from emstudio.core.em import FitSettings
from emstudio.core.engine import MixtureEngine
from emstudio.core.estep import BoundTerms
from emstudio.core.factor import FactorParams
from emstudio.core.geometry import bin_indices, decimation_indices, density_image, padded_range, palette
from emstudio.core.params import MixtureParams
from emstudio.core.responsibility import uncertainty_image

#: Up to this many points the scatter draws every point with its own blended colour. Measured
#: (offscreen, pyqtgraph 0.14): recolour + repaint 5 ms at 2 000 points, 12 ms at 5 000, 22 ms at
#: 10 000, 45 ms at 20 000. Above it the worker renders a density image coloured by responsibility.
SCATTER_LIMIT = 5000
#: Points whose responsibilities colour the density image (a fixed random subset above this).
DENSITY_SAMPLE = 100_000
DENSITY_BINS = (240, 240)

@dataclass(frozen=True, eq=False)
class Colours:
    """How the drawn points are coloured for one state: either per-point responsibilities
    (scatter mode, ``resp`` (m, K) float32) or a ready density image (``image`` (bx, by, 4) uint8
    over ``rect`` = (x0, y0, width, height)). ``shading``: what the image's colours show,
    "responsibility" or "uncertainty" (the scatter shades ``resp`` itself)."""

    resp: np.ndarray | None = None
    image: np.ndarray | None = None
    rect: tuple[float, float, float, float] | None = None
    shading: str = "responsibility"


@dataclass(frozen=True, eq=False)
class Frame:
    """One state of the fit, as the views show it (immutable, K-sized but for ``colours``).

    kind: "start", "iteration", "E" or "M"; iteration: full EM iterations done; change: rise of
    the mean per-sample log L since the previous iteration (None at a start); terms: the bound
    terms log L, Q, Ent, F, KL of the current (q, θ) (after the M-step for an iteration);
    colours: None keeps the previous colouring (an M-step leaves q unchanged); collapse: the
    components that are collapsing in this state, (k, λmin, Nₖ) each (core.edits.collapse_report).
    kind "edit" is a state made by hand (``note`` says how): EM did not lead to it, so log L may
    differ from the state before it either way.

    A factor model's frame (factor analysis, a mixture of factor analysers) carries its θ in
    ``factor`` and, in ``params``, the same distribution as a Gaussian mixture (each component's
    covariance ΛₖΛₖᵀ + Ψₖ): every view of a mixture draws it as it is, the factor views read
    ``factor``; ``heywood`` lists its (component, column) pairs whose uniqueness Ψ hit the floor.
    """

    run_id: int
    kind: str
    iteration: int
    params: MixtureParams
    log_likelihood: float
    n_samples: int
    component_sizes: np.ndarray
    change: float | None = None
    converged: bool = False
    terms: BoundTerms | None = None
    terms_after_e: BoundTerms | None = None
    restart: int = 0
    n_restarts: int = 1
    colours: Colours | None = field(default=None, repr=False)
    collapse: tuple[Collapse, ...] = ()
    reg_covar_binds: bool = False  # reg_covar is far from Q's maximiser here: log L may fall a little
    note: str = ""  # what a hand edit did ("edit" frames)
    reg_covar: float = 0.0  # the reg_covar this state was made (or measured) with
    frozen: np.ndarray | None = field(default=None, repr=False)  # (K,) bool: components EM keeps as they are
    factor: FactorParams | None = field(default=None, repr=False)  # a factor model's own θ
    heywood: tuple[tuple[int, int], ...] = ()  # (component, column) with Ψ at the floor (factor models)

    @property
    def mean_log_likelihood(self) -> float:
        return self.log_likelihood / self.n_samples

    @property
    def theta(self) -> MixtureParams | FactorParams:
        """The model's own θ: what EM continues from (``factor`` for a factor model)."""
        return self.factor if self.factor is not None else self.params

    @property
    def identical(self) -> list[tuple[int, int]]:
        """Pairs of components with the same mean and covariance (EM cannot separate them)."""
        return identical_components(self.params)

    def without_colours(self) -> "Frame":
        if self.colours is None:
            return self
        return dataclasses.replace(self, colours=None)


@dataclass(frozen=True)
class RunRequest:
    """Run EM: from ``start`` (continuing at ``start_iteration``) or, if None, from a fresh start
    of ``settings`` (with its restarts). ``pace``: seconds to wait between iterations (0: none)."""

    settings: FitSettings  # or a core.factor.FactorSettings: a factor model's run
    start: MixtureParams | FactorParams | None = None
    start_iteration: int = 0
    pace: float = 0.0
    frozen: np.ndarray | None = None  # (K,) bool with ``start``: components the M-steps keep
    start_reg_covar: float | None = None  # the reg_covar ``start`` was made with


@dataclass(frozen=True)
class RunOutcome:
    run_id: int
    state: str  # "converged", "max-iter", "stopped", "done" (a step or a start), "failed"
    history: tuple[Frame, ...] | None = None  # the kept restart's frames when restarts > 1
    message: str = ""
    restarts: RestartCurves | None = None  # every restart's log L curve when restarts > 1


@dataclass(frozen=True, eq=False)
class RestartCurves:
    """The log L per sample of every restart of a run, iteration by iteration (K-free, small).

    curves: one (iterations, mean log L) pair of arrays per restart; kept: the restart whose
    history the window keeps; degenerate: per restart, whether it ended with a collapsed component.
    """

    curves: tuple[tuple[np.ndarray, np.ndarray], ...]
    kept: int
    degenerate: tuple[bool, ...]

    @classmethod
    def of_frames(cls, restarts: list[list[Frame]], kept: int) -> RestartCurves:
        """The curves of runs kept as frames (a factor model's restarts: none degenerate)."""
        curves = tuple((np.array([f.iteration for f in frames], dtype=float),
                        np.array([f.mean_log_likelihood for f in frames])) for frames in restarts)
        return cls(curves, kept, (False,) * len(curves))

    @classmethod
    def of(cls, result, offset: int = 0) -> RestartCurves:
        n = result.n_samples
        curves = tuple((np.array([i + offset for i, _ in h], dtype=float), np.array([v / n for _, v in h]))
                       for h in result.restart_histories)
        return cls(curves, result.best_restart, tuple(result.restart_degenerate))


class DataView:
    """The drawn points of the loaded data on the chosen axes (built in the worker)."""

    def __init__(self, X: np.ndarray, axes: tuple[int, int]):
        self.axes = axes
        n = X.shape[0]
        # 1-D data is always a strip of points under the histogram: the same decimated points the
        # view draws (same indices), coloured one by one.
        self.scatter = n <= SCATTER_LIMIT or X.shape[1] == 1
        self.index = decimation_indices(n, SCATTER_LIMIT if self.scatter else DENSITY_SAMPLE)
        self.points = np.ascontiguousarray(X[self.index])
        if self.scatter:
            self.flat = None
            self.rect = None
        else:
            i, j = axes
            xr = padded_range(X[:, i], 0.02)
            yr = padded_range(X[:, j], 0.02) if X.shape[1] > 1 else (0.0, 1.0)
            y = self.points[:, j] if X.shape[1] > 1 else np.zeros(len(self.points))
            self.flat = bin_indices(self.points[:, i], y, xr, yr, DENSITY_BINS)
            self.rect = (xr[0], yr[0], xr[1] - xr[0], yr[1] - yr[0])

        self._engines: dict[str, MixtureEngine] = {}
        self.shading = "responsibility"  # or "uncertainty": what the density image shows
        self.last_params: MixtureParams | None = None  # the state coloured last

    def responsibilities(self, params: MixtureParams) -> np.ndarray:
        """rᵢₖ (m, K) of the drawn points (an engine kept per covariance type)."""
        engine = self._engines.get(params.covariance_type)
        if engine is None:
            engine = MixtureEngine(self.points, params.covariance_type, n_threads=1, blas_threads=None)
            self._engines[params.covariance_type] = engine
        resp, _ = engine.responsibilities(params)
        return resp

    def close(self) -> None:
        for engine in self._engines.values():
            engine.close()
        self._engines.clear()

    def colours(self, params: MixtureParams | FactorParams) -> Colours:
        if isinstance(params, FactorParams):
            params = params.to_mixture()
        self.last_params = params
        resp = self.responsibilities(params)
        if self.scatter:
            return Colours(resp=resp.astype(np.float32))
        if self.shading == "uncertainty":
            return Colours(image=uncertainty_image(self.flat, resp, DENSITY_BINS), rect=self.rect,
                           shading="uncertainty")
        image = density_image(self.flat, resp, DENSITY_BINS, palette(params.n_components))
        return Colours(image=image, rect=self.rect)


@dataclass(frozen=True)
class Dataset:
    """What was loaded: values (n, d), column names, where from, and the loader's report lines;
    beside them (io.data.LoadedData's, per row): each row's identity, the used cells as written,
    the left-out text columns, and the known classes asked for when loading."""

    values: np.ndarray
    columns: tuple[str, ...]
    source: str
    report_lines: tuple[str, ...] = ()
    n_dropped: int = 0
    row_ids: np.ndarray | None = None  # (n,) str; None: 1 … n
    cell_text: np.ndarray | None = None  # (n, d) str; None: not kept
    text_columns: dict = field(default_factory=dict)  # name -> (n,) str
    classes: KnownClasses | None = None
    sheets: tuple[str, ...] = ()  # a workbook's sheet names (empty for other formats)
    sheet: str | None = None  # the workbook's sheet that was read
    #: Data on a Dask cluster (gui.cluster_data.ClusterSession): ``values`` is its uniform sample of
    #: rows, EM's passes run over all rows on the cluster; None: ``values`` is all the data.
    cluster: object | None = field(default=None, compare=False, repr=False)
