"""The history's frames in a workspace, as columns: one array per number of all frames, and the
parameters of frames of the same shape stacked (a 1,000-entry history is a handful of arrays, not
thousands). Encoding runs on the autosave's thread: few Python steps per frame, so that it holds
the interpreter's lock only briefly and the window's thread never waits long for it.

The document's ``frames`` (docs/formats.md, "Workspace file")::

    {"count": N, "kind": [N str], "note": [N str],
     "ints": ref (N, 5) int64       run_id, iteration, n_samples, restart, n_restarts
     "floats": ref (N, 9) float64   log_likelihood, change, reg_covar, terms (3), terms_after_e (3)
     "flags": ref (N, 5) bool       converged, reg_covar_binds, has change, has terms, has terms_after_e
     "groups": [{"frames": [indices], "covariance_type", "weights" (G, K), "means" (G, K, d),
                 "covariances" (G, …), "sizes" (G, K), "frozen" (G, K) or null,
                 "factor": null or {"psi_shared", "weights", "means", "loadings", "psi"} stacked}],
     "extras": {"index": {"collapse": [[k, λmin, Nₖ]…], "heywood": [[k, j]…]}}}
"""

from __future__ import annotations

import numpy as np

from emstudio.core.edits import Collapse
from emstudio.core.estep import BoundTerms
from emstudio.core.factor import FactorParams
from emstudio.core.params import ALL_COVARIANCE_TYPES, MixtureParams, to_full_covariances
from emstudio.errors import EmstudioError
from emstudio.gui.snapshot import Frame
from emstudio.io.workspace import ArrayPacker, ArrayUnpacker
from emstudio.io.workspace_values import damaged, text

FRAME_KINDS = ("start", "iteration", "E", "M", "edit")
_NAN3 = (np.nan, np.nan, np.nan)


def _terms(t: BoundTerms | None) -> tuple:
    return _NAN3 if t is None else (t.log_likelihood, t.expected_complete, t.entropy)


def _shape_key(frame: Frame) -> tuple:
    p, f = frame.params, frame.factor
    factor = None if f is None else (f.loadings.shape, f.psi_shared)
    return (p.covariance_type, p.means.shape, p.covariances.shape, frame.frozen is None, factor)


def encode_frames(frames: list[Frame], pack: ArrayPacker) -> dict:
    n = len(frames)
    ints = np.array([(f.run_id, f.iteration, f.n_samples, f.restart, f.n_restarts) for f in frames],
                    dtype=np.int64).reshape(n, 5)
    floats = np.array([(f.log_likelihood, np.nan if f.change is None else f.change, f.reg_covar,
                        *_terms(f.terms), *_terms(f.terms_after_e)) for f in frames], dtype=float).reshape(n, 9)
    flags = np.array([(f.converged, f.reg_covar_binds, f.change is not None, f.terms is not None,
                       f.terms_after_e is not None) for f in frames], dtype=bool).reshape(n, 5)
    groups: dict[tuple, list[int]] = {}
    for i, frame in enumerate(frames):
        groups.setdefault(_shape_key(frame), []).append(i)
    extras = {str(i): {"collapse": [[int(c.component), float(c.smallest_eigenvalue), float(c.size)]
                                    for c in f.collapse],
                       "heywood": [[int(k), int(j)] for k, j in f.heywood]}
              for i, f in enumerate(frames) if f.collapse or f.heywood}
    return {"count": n, "kind": [f.kind for f in frames], "note": [f.note for f in frames],
            "ints": pack.add(ints), "floats": pack.add(floats), "flags": pack.add(flags),
            "groups": [_encode_group([frames[i] for i in members], members, pack) for members in groups.values()],
            "extras": extras}


def _encode_group(frames: list[Frame], members: list[int], pack: ArrayPacker) -> dict:
    first = frames[0]

    def stack(get):
        return pack.add(np.stack([get(f) for f in frames]))

    entry = {"frames": members, "covariance_type": first.params.covariance_type,
             "weights": stack(lambda f: f.params.weights), "means": stack(lambda f: f.params.means),
             "covariances": stack(lambda f: f.params.covariances), "sizes": stack(lambda f: f.component_sizes),
             "frozen": None if first.frozen is None else stack(lambda f: f.frozen), "factor": None}
    if first.factor is not None:
        entry["factor"] = {"psi_shared": bool(first.factor.psi_shared),
                           **{name: stack(lambda f, name=name: getattr(f.factor, name))
                              for name in ("weights", "means", "loadings", "psi")}}
    return entry


def decode_frames(entry, unpack: ArrayUnpacker, d: int) -> list[Frame]:
    """The frames of ``entry``, checked against the data's dimension ``d``."""
    if not isinstance(entry, dict):
        raise damaged("its history is not a table of frames")
    n = entry.get("count")
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise damaged(f"its number of frames is {n!r}")
    kinds, notes = entry.get("kind"), entry.get("note")
    if not (isinstance(kinds, list) and isinstance(notes, list) and len(kinds) == len(notes) == n):
        raise damaged("its frames' kinds and notes are not one per frame")
    for kind in kinds:
        if kind not in FRAME_KINDS:
            raise damaged(f"a history entry's kind {kind!r} is unknown")
    ints, floats, flags = (unpack.get(entry.get(name), 2) for name in ("ints", "floats", "flags"))
    if ints is None or floats is None or flags is None or \
            (ints.shape, floats.shape, flags.shape) != ((n, 5), (n, 9), (n, 5)):
        raise damaged("its frames' numbers are not one row per frame")
    if n and (ints[:, 1].min() < 0 or ints[:, 2].min() < 1 or ints[:, 4].min() < 1):
        raise damaged("a frame's iteration, sample count or restarts is out of range")
    params: list = [None] * n
    for group in entry.get("groups", []):
        for i, value in _decode_group(group, unpack, d, n):
            if params[i] is not None:
                raise damaged(f"frame {i} is in two groups")
            params[i] = value
    if any(p is None for p in params):
        raise damaged("a frame has no parameters")
    extras = entry.get("extras", {})
    if not isinstance(extras, dict):
        raise damaged("its frames' extras are not a mapping")
    frames = []
    for i in range(n):
        mixture, sizes, frozen, factor = params[i]
        extra = extras.get(str(i), {})
        run_id, iteration, n_samples, restart, n_restarts = (int(v) for v in ints[i])
        f = floats[i]
        converged, binds, has_change, has_terms, has_after = (bool(v) for v in flags[i])
        frames.append(Frame(
            run_id=run_id, kind=kinds[i], iteration=iteration, params=mixture, log_likelihood=float(f[0]),
            n_samples=n_samples, component_sizes=sizes, change=float(f[1]) if has_change else None,
            converged=converged, terms=BoundTerms(*map(float, f[3:6])) if has_terms else None,
            terms_after_e=BoundTerms(*map(float, f[6:9])) if has_after else None, restart=restart,
            n_restarts=n_restarts,
            collapse=tuple(Collapse(int(c), float(e), float(s)) for c, e, s in extra.get("collapse", [])),
            reg_covar_binds=binds, note=text(notes[i], "a note"), reg_covar=float(f[2]), frozen=frozen,
            factor=factor, heywood=tuple((int(a), int(b)) for a, b in extra.get("heywood", []))))
    return frames


def _decode_group(group, unpack: ArrayUnpacker, d: int, n: int):
    """(frame index, (MixtureParams, sizes, frozen, FactorParams or None)) of each frame of a group."""
    if not isinstance(group, dict):
        raise damaged("a group of frames is not a mapping")
    members = group.get("frames")
    if not isinstance(members, list) or not all(isinstance(i, int) and 0 <= i < n for i in members):
        raise damaged("a group of frames names frames that are not there")
    covariance_type = text(group.get("covariance_type"), "a covariance type")
    if covariance_type not in ALL_COVARIANCE_TYPES:
        raise damaged(f"unknown covariance type {covariance_type!r}")
    weights, means, sizes = unpack.get(group.get("weights"), 2), unpack.get(group.get("means"), 3), \
        unpack.get(group.get("sizes"), 2)
    covariances, frozen = unpack.get(group.get("covariances")), unpack.get(group.get("frozen"), 2)
    g = len(members)
    if weights is None or means is None or sizes is None or covariances is None:
        raise damaged("a group of frames has no parameters")
    k = weights.shape[1]
    if weights.shape != (g, k) or means.shape != (g, k, d) or sizes.shape != (g, k) or covariances.shape[0] != g \
            or (frozen is not None and frozen.shape != (g, k)) or k < 1:
        raise damaged(f"a group of {g} frames has parameters of shapes {weights.shape}, {means.shape} for d = {d}")
    try:
        to_full_covariances(covariances[0], covariance_type, k, d)
    except (ValueError, EmstudioError):
        raise damaged(f"covariances of shape {covariances.shape[1:]} are not {covariance_type} ones") from None
    factor = group.get("factor")
    for j, i in enumerate(members):
        theta = None
        if factor is not None:
            try:
                arrays = (unpack.get(factor.get(name))[j] for name in ("weights", "means", "loadings", "psi"))
                theta = FactorParams(*arrays, psi_shared=bool(factor.get("psi_shared", True)))
            except (EmstudioError, TypeError, IndexError, AttributeError) as exc:
                raise damaged(f"a factor model's parameters: {exc}") from None
        yield i, (MixtureParams(weights[j], means[j], covariances[j], covariance_type), sizes[j],
                  None if frozen is None else frozen[j], theta)
