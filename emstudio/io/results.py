"""Result files, start (parameter) files, selection files and labels files (docs/formats.md).

Every file is written atomically. Any result file is also a valid ``--init`` file: reading one as a
start needs only ``weights``, ``means`` and ``covariances`` (K full d×d matrices).
"""

from __future__ import annotations

import codecs
import io
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emstudio.core.em import FitResult
from emstudio.core.params import MixtureParams, from_full_covariances, make_params
from emstudio.errors import EmstudioError, ParameterError
from emstudio.io._common import number_texts, one_line
from emstudio.io.atomic import atomic_write_text
from emstudio.io.inputs import read_input_bytes

RESULT_FORMAT = "emstudio.gaussian-mixture"
RESULT_VERSION = 1

#: The largest result/parameter file read as a start (a few thousand components in 100
#: dimensions fit well below it).
START_FILE_LIMIT_BYTES = 256 << 20


def _finite(value: float) -> float | None:
    """JSON has no NaN or infinity: such values are written as null."""
    value = float(value)
    return value if math.isfinite(value) else None


def result_to_dict(result: FitResult, *, source: str, columns: Sequence[str], n_dropped: int = 0,
                   extra_settings: dict | None = None) -> dict:
    """The result file's content for ``result`` (``extra_settings`` join ``settings``)."""
    params = result.params
    try:  # any result file is also a valid --init start: never write one that would be refused
        make_params(params.weights, params.means, params.covariances, params.covariance_type)
    except ParameterError as exc:
        raise EmstudioError(f"the fitted parameters are not a valid start ({exc}), so no result file is "
                            "written; rescale the data by a power of ten and fit again") from None
    settings = result.settings
    init = settings.init if isinstance(settings.init, str) else "file"
    out = {
        "format": RESULT_FORMAT,
        "version": RESULT_VERSION,
        "covariance_type": settings.covariance_type,
        "weights": params.weights.tolist(),
        "means": params.means.tolist(),
        "covariances": params.full_covariances().tolist(),
        "log_likelihood": _finite(result.log_likelihood),
        "bic": _finite(result.bic),
        "aic": _finite(result.aic),
        "icl": _finite(result.icl),
        "n_iter": int(result.n_iter),
        "converged": bool(result.converged),
        "degenerate_components": [int(i) for i in result.degenerate],
        **({"log_prior": _finite(result.log_prior)} if getattr(result, "log_prior", None) is not None else {}),
        "data": {
            "source": source,
            "columns": list(columns),
            "n_samples": int(result.n_samples),
            "n_dropped": int(n_dropped),
        },
        "settings": {
            "k": int(settings.k),
            "init": init,
            "seed": int(settings.seed),
            "tol": float(settings.tol),
            "max_iter": int(settings.max_iter),
            "reg_covar": float(settings.reg_covar),
            "restarts": int(settings.restarts),
            **({"prior": settings.prior} if getattr(settings, "prior", "none") != "none" else {}),
            "convergence": settings.convergence,
            "accelerate": settings.accelerate,
            "short_iter": int(settings.short_iter),
            "long_runs": int(settings.long_runs),
            **(extra_settings or {}),
        },
        "history": [{"iteration": int(i), "log_likelihood": _finite(ll)} for i, ll in result.history],
    }
    return out


def settings_from_dict(content: dict) -> dict:
    """The fit options a result file's ``settings`` report, as FitSettings keyword arguments
    (k, seed, tol, max_iter, reg_covar, restarts, convergence, accelerate, short_iter, long_runs,
    prior; init when it is a start method). Files written before a setting existed lack it, and what
    the fit then did is its old default: the change rule, plain EM, every start run to its end."""
    settings = content.get("settings")
    if not isinstance(settings, dict):
        raise EmstudioError("the result file has no settings")
    out = {"convergence": "change", "accelerate": "none", "short_iter": 0, "long_runs": 1, "prior": "none"}
    kinds = {"k": int, "seed": int, "max_iter": int, "restarts": int, "short_iter": int, "long_runs": int,
             "tol": float, "reg_covar": float, "convergence": str, "accelerate": str, "prior": str}
    for key, kind in kinds.items():
        if key in settings:
            out[key] = kind(settings[key])
    if isinstance(settings.get("init"), str) and settings["init"] != "file":
        out["init"] = settings["init"]
    if "covariance_type" in content:
        out["covariance_type"] = str(content["covariance_type"])
    return out


def write_json(path: str | os.PathLike, content: dict) -> None:
    """Write a JSON document atomically."""
    atomic_write_text(path, json.dumps(content, indent=2, allow_nan=False) + "\n")


def write_result(path: str | os.PathLike, result: FitResult, **kwargs) -> dict:
    """Write the result file for ``result`` atomically; returns what was written."""
    content = result_to_dict(result, **kwargs)
    write_json(path, content)
    return content


def read_json_file(path: str | os.PathLike, *, wait_for_writer: float | None = None) -> dict:
    """A JSON object from ``path``, or EmstudioError with one clear line.

    ``wait_for_writer``: seconds to wait for a program to open a FIFO for writing (None: as long as
    it takes, as on the command line; the window gives up after a while)."""
    name = Path(path).name
    # Opened once, whatever it is (a FIFO or a pipe has nothing left for a second open), and read
    # up to a limit (a start file from /dev/zero must not fill the memory).
    data = read_input_bytes(path, limit=START_FILE_LIMIT_BYTES, what="start file", wait_for_writer=wait_for_writer)
    return parse_json_document(data, name)


#: Integers longer than this are read as floats (a 400-digit integer is out of float range and
#: reads as infinity, which the checks then refuse; Python refuses to parse 4,301 digits or more).
_LONGEST_INTEGER = 30


class _NotJSON(ValueError):
    """A token JSON does not have (NaN, Infinity), found while parsing."""


def _refuse_constant(token: str):
    raise _NotJSON(f"{token} is not a JSON number")


def _parse_integer(text: str):
    return int(text) if len(text) <= _LONGEST_INTEGER else float(text)


def parse_json_document(data: bytes, name: str) -> dict:
    """The JSON object in ``data`` (UTF-8, a byte-order mark allowed), or EmstudioError with one line.

    Hostile documents are bad input like any other: nesting deeper than the parser's recursion
    limit, integers of any length, ``NaN``/``Infinity`` tokens (not JSON) and documents too
    large for the memory each give one line, never an internal error.
    """
    if data.startswith(codecs.BOM_UTF8):  # Notepad and Excel write one; data files accept it too
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EmstudioError(f"{name}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
                            f"{exc.start}); a start file is JSON") from None
    try:
        content = json.loads(text, parse_int=_parse_integer, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise EmstudioError(f"{name}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except _NotJSON as exc:
        raise EmstudioError(f"{name}: not valid JSON ({exc})") from None
    except RecursionError:
        raise EmstudioError(f"{name}: not a start file (JSON nested too deeply)") from None
    except MemoryError:
        raise EmstudioError(f"{name}: too large for the memory") from None
    except ValueError as exc:  # anything else the parser refuses
        raise EmstudioError(f"{name}: not valid JSON ({one_line(str(exc), 120)})") from None
    if not isinstance(content, dict):
        raise EmstudioError(f"{name}: expected a JSON object")
    return content


#: The most components a start file may have. Far more than any mixture worth fitting; its
#: purpose is to refuse a file of millions of components at once, before their matrices are
#: built and checked one by one.
MAX_START_COMPONENTS = 10_000


def params_from_dict(content: dict, covariance_type: str, *, name: str = "parameter file",
                     max_components: int | None = None) -> MixtureParams:
    """Parameters from a result/parameter document (``weights``, ``means``, full ``covariances``).

    ``max_components``: the most components the data allow (its number of rows); a file with
    more, or with more than MAX_START_COMPONENTS, is refused before any array is built.
    """
    missing = [key for key in ("weights", "means", "covariances") if key not in content]
    if missing:
        raise ParameterError(f"{name}: missing {', '.join(missing)}")
    _check_component_count(content, name, max_components)
    try:
        weights = np.asarray(content["weights"], dtype=np.float64)
        means = np.asarray(content["means"], dtype=np.float64)
        full = np.asarray(content["covariances"], dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}: weights, means and covariances must be numbers") from None
    if means.ndim == 1:
        means = means[:, None]
    if full.ndim == 1 and means.shape[1] == 1:
        full = full[:, None, None]
    if full.ndim != 3 or full.shape[1] != full.shape[2]:
        raise ParameterError(f"{name}: covariances must be K full d×d matrices, got shape {full.shape}")
    try:
        # Validate as full matrices first (positive-definite, symmetric), then convert.
        full_params = make_params(weights, means, full, "full")
    except ParameterError as exc:
        raise ParameterError(f"{name}: {exc}") from None
    native = from_full_covariances(full_params.covariances, covariance_type, full_params.weights)
    return make_params(full_params.weights, full_params.means, native, covariance_type)


def _check_component_count(content: dict, name: str, max_components: int | None) -> None:
    """Refuse K above the cap or above the data's rows from the length of a list alone (the
    shapes are checked afterwards, on arrays)."""
    k = max((len(content[key]) for key in ("weights", "means", "covariances")
             if isinstance(content[key], list)), default=0)
    if k > MAX_START_COMPONENTS:
        raise ParameterError(f"{name}: {k:,} components; a start has at most {MAX_START_COMPONENTS:,}")
    if max_components is not None and k > max_components:
        raise ParameterError(f"{name}: {k:,} components, more than the data's {max_components:,} "
                             f"row{'s' * (max_components != 1)}")


def read_params_file(path: str | os.PathLike, covariance_type: str, *,
                     max_components: int | None = None, wait_for_writer: float | None = None) -> MixtureParams:
    """Starting parameters from a result, parameter or selection file (its best model), in
    ``covariance_type``; ``max_components`` as in :func:`params_from_dict`; ``wait_for_writer`` as
    in :func:`read_json_file`."""
    content = read_json_file(path, wait_for_writer=wait_for_writer)
    if content.get("format") == SELECTION_FORMAT:
        if not isinstance(content.get("best"), dict):
            raise ParameterError(f"{Path(path).name}: the selection file has no best model")
        content = content["best"]
    return params_from_dict(content, covariance_type, name=Path(path).name, max_components=max_components)


LABELS_VERSION = 2


def labels_csv(X: np.ndarray, columns: Sequence[str], resp: np.ndarray, *, row_ids: Sequence[str] | None = None,
               cell_text: np.ndarray | None = None) -> str:
    """The labels file, version 2 (docs/formats.md): ``row``, the used columns, ``component``
    (the most responsible, 1 … K), then ``p1`` … ``pK``.

    X (n, d) the used values; resp (n, K); row_ids (n,) each row's identity (R row name, or
    1-based row number; default 1 … n); cell_text (n, d) the cells as they were read (default:
    the shortest text that reads back to each value).
    """
    k = np.shape(resp)[1]
    return labels_header(columns, k) + labels_rows(X, resp, row_ids=row_ids, cell_text=cell_text)


def labels_header(columns: Sequence[str], k: int) -> str:
    """The labels file's header line (with its line end)."""
    header = ["row"] + [_csv_field(c) for c in columns] + ["component"] + [f"p{j}" for j in range(1, k + 1)]
    return ",".join(header) + "\n"


def labels_rows(X: np.ndarray, resp: np.ndarray, *, row_ids: Sequence[str] | None = None,
                cell_text: np.ndarray | None = None) -> str:
    """The labels file's lines for rows X (n, d) with responsibilities resp (n, K), no header:
    a file written in parts (one block of rows at a time) is the header then each part's lines."""
    X = np.asarray(X, dtype=np.float64)
    resp = np.asarray(resp, dtype=np.float64)
    n, k = resp.shape
    if row_ids is None:
        ids = [str(i) for i in range(1, n + 1)]
    else:
        ids = _quoted_column([str(r) for r in row_ids])
    fields: list[list[str]] = [ids]
    for j in range(X.shape[1]):
        if cell_text is not None:
            fields.append(_quoted_column(np.asarray(cell_text)[:, j].tolist()))
        else:
            fields.append(number_texts(X[:, j]).tolist())
    fields.append([str(c) for c in (resp.argmax(axis=1) + 1).tolist()])
    for j in range(k):
        fields.append(number_texts(resp[:, j]).tolist())
    buffer = io.StringIO()
    for line in zip(*fields):
        buffer.write(",".join(line))
        buffer.write("\n")
    return buffer.getvalue()


def _quoted_column(texts: list[str]) -> list[str]:
    """CSV fields of ``texts``, quoted only where a text needs it."""
    if any(ch in t for t in texts for ch in ',"\n\r'):
        return [_csv_field(t) for t in texts]
    return texts


def _csv_field(text: str) -> str:
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def write_labels(path: str | os.PathLike, X: np.ndarray, columns: Sequence[str], resp: np.ndarray,
                 **text) -> None:
    """Write the labels file atomically (``text``: row_ids, cell_text as for :func:`labels_csv`)."""
    atomic_write_text(path, labels_csv(X, columns, resp, **text))


SELECTION_FORMAT = "emstudio.model-selection"


def selection_to_dict(selection, *, source: str, columns: Sequence[str], n_dropped: int = 0,
                      extra_settings: dict | None = None) -> dict:
    """The selection file's content (docs/formats.md, "Selection file"); ``best`` is a whole result file.

    Each model lists how many of its restarts collapsed; a cell that could not be fitted at all
    (K above the number of distinct points, say) carries an ``error`` instead of numbers.
    """
    models = []
    for cell in selection.cells:
        entry = {"covariance_type": cell.covariance_type, "k": int(cell.k)}
        if cell.result is None:
            entry.update(error=cell.error, degenerate=False, converged=False)
        else:
            r = cell.result
            entry.update(log_likelihood=_finite(r.log_likelihood), bic=_finite(r.bic), aic=_finite(r.aic),
                         icl=_finite(r.icl), degenerate=cell.degenerate, converged=bool(r.converged),
                         n_restarts=int(cell.n_restarts), n_collapsed=int(cell.n_collapsed),
                         n_finished=int(sum(r.restart_finished)) if r.restart_finished else int(cell.n_restarts),
                         n_iter=int(r.n_iter), total_iterations=int(r.total_iterations))
            if r.start_names:
                entry.update(starts=list(r.start_names), kept_start=r.start_names[r.best_restart])
        models.append(entry)
    best = None
    if selection.best is not None:
        best = result_to_dict(selection.best.result, source=source, columns=columns, n_dropped=n_dropped,
                              extra_settings=extra_settings)
    content = {"format": SELECTION_FORMAT, "version": 1, "model": "gmm", "criterion": selection.criterion,
               "models": models, "best": best}
    same = getattr(selection, "same_models", None)
    if same:
        content["same_models"] = dict(same)
    return content
