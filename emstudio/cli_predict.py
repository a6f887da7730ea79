"""`emstudio predict NEW --model RESULT.json [--labels OUT.csv] [--density OUT.csv]`.

The components and responsibilities of new data under a fitted model, and the log density of each
row. The model is any result file (a Gaussian mixture, a mixture of factor analysers, factor
analysis), or a selection file (its best model). NEW's columns are found by the names the model
was fitted on; rows with a missing value in one of them are left out and counted, as `fit` does.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import numpy as np

from emstudio.cli_parser import PROG


def read_model(path: str):
    """(MixtureParams, the columns it was fitted on) from a result or selection file."""
    from emstudio.errors import EmstudioError
    from emstudio.io.factor_results import factor_params_from_dict, is_factor_document
    from emstudio.io.inputs import path_problem
    from emstudio.io.results import SELECTION_FORMAT, params_from_dict, read_json_file

    if not os.path.lexists(path):
        raise EmstudioError(f"--model {path}: no such file")
    problem = path_problem(path)
    if problem:
        raise EmstudioError(f"--model {path}: {problem}")
    name = Path(path).name
    content = read_json_file(path)
    if content.get("format") == SELECTION_FORMAT:
        content = content.get("best")
        if not isinstance(content, dict):
            raise EmstudioError(f"{name}: the selection file has no best model")
    if is_factor_document(content):
        params = factor_params_from_dict(content, name=name).to_mixture()
    else:
        params = params_from_dict(content, "full", name=name)
    data = content.get("data")
    columns = data.get("columns") if isinstance(data, dict) else None
    if not (isinstance(columns, list) and len(columns) == params.n_features
            and all(isinstance(c, str) for c in columns)):
        raise EmstudioError(f"{name}: the model does not say which columns it was fitted on (data.columns)")
    return params, columns


def _load_matching(path: str, columns: list[str]):
    """NEW's values in the model's columns, by name; one line naming what is missing otherwise."""
    from emstudio.errors import DataError, EmstudioError
    from emstudio.io.data import load_data

    try:
        return load_data(path, columns=columns)
    except DataError as exc:
        try:
            available = load_data(path).columns
        except EmstudioError:
            raise exc from None
        missing = [c for c in columns if c not in available]
        if not missing:
            raise
        raise EmstudioError(f"{Path(path).name} has no column{'s' * (len(missing) != 1)} "
                            f"{', '.join(missing)}: the model was fitted on {', '.join(columns)} "
                            f"(the file has {', '.join(available)})") from None


def log_density_and_responsibilities(X: np.ndarray, params) -> tuple[np.ndarray, np.ndarray]:
    """log p(xᵢ) (n,) under the mixture and rᵢₖ (n, K)."""
    from emstudio.core.estep import e_step

    log_density, log_resp = e_step(X, params)
    return log_density, np.exp(log_resp)


def density_csv(rows: np.ndarray, log_density: np.ndarray) -> str:
    """``row`` (1-based data row of NEW) and ``log_density`` (natural log, shortest round-trip text)."""
    buffer = io.StringIO()
    buffer.write("row,log_density\n")
    for row, value in zip(rows, log_density):
        buffer.write(f"{int(row) + 1},{float(value)!r}\n")
    return buffer.getvalue()


def command_predict(args) -> int:
    from emstudio.cli import _check_outputs
    from emstudio.io.results import labels_csv

    _check_outputs([args.labels, args.density], args.data)
    params, columns = read_model(args.model)
    loaded = _load_matching(args.data, columns)
    log_density, resp = log_density_and_responsibilities(loaded.values, params)
    for line in loaded.report.lines():
        sys.stderr.write(f"{PROG}: {line}\n")
    outputs = []
    if args.labels:
        outputs.append((args.labels, labels_csv(loaded.values, loaded.columns, resp, row_ids=loaded.row_ids(),
                                                cell_text=loaded.cell_text)))
    if args.density:
        outputs.append((args.density, density_csv(loaded.kept_rows, log_density)))
    from emstudio.cli import write_outputs

    write_outputs(outputs)
    if not args.quiet and "-" not in (args.labels, args.density):
        counts = np.bincount(resp.argmax(axis=1), minlength=params.n_components)
        sys.stdout.write(f"{loaded.values.shape[0]} rows under the K={params.n_components} model of "
                         f"{Path(args.model).name}: log L = {log_density.sum():.6f} "
                         f"(mean {log_density.mean():.6f} per row)\n")
        for k, count in enumerate(counts):
            sys.stdout.write(f"  component {k + 1}: {count} rows most responsible, "
                             f"mean responsibility {resp[:, k].mean():.4f}\n")
    return 0
