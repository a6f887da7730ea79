"""`emstudio fit DATA --model fa|mfa`: factor analysis and mixtures of factor analysers.

Kept apart from cli.py's Gaussian-mixture path: the options it shares (--columns, --seed, --tol,
--max-iter, --restarts, --out, --labels) mean the same; --factors and --psi are its own.
"""

from __future__ import annotations

import json
import os
import sys

from emstudio.cli_parser import PROG
FACTOR_INITS = {"fa": ("pca", "random"), "mfa": ("kmeans", "random")}


def _settings(args, d: int):
    from emstudio.core.factor import FactorSettings
    from emstudio.errors import EmstudioError

    model = args.model
    if getattr(args, "prior", "none") != "none":
        raise EmstudioError(f"--prior is for Gaussian mixtures (--model gmm), not --model {model}")
    k = 1 if model == "fa" else (args.k or 2)
    if model == "fa" and args.k not in (None, 1):
        raise EmstudioError("--model fa has one component; use --model mfa for a mixture of factor analysers")
    init = args.init
    if init == "auto":  # the mixtures' default start: factor analysis starts from PCA, a mixture from k-means
        init = "pca" if model == "fa" else "kmeans"
    if init == "kmeans" and model == "fa":
        init = "pca"
    factors, psi = args.factors, args.psi
    if init in FACTOR_INITS[model]:
        if factors is None:
            raise EmstudioError(f"--model {model} needs --factors Q (the number of latent factors)")
    else:
        if not os.path.lexists(init):
            raise EmstudioError(f"--init {init!r} is neither a start for --model {model} "
                                f"({', '.join(FACTOR_INITS[model])}) nor an existing file")
        from emstudio.io.factor_results import read_factor_start

        init = read_factor_start(init)  # a result, or a selection file's best: q, Ψ's kind and K from it
        if args.k is None and model == "mfa":
            k = init.n_components
        if factors is None:
            factors = init.n_factors
        start_psi = "shared" if init.psi_shared or init.n_components == 1 else "per-component"
        if psi is not None and psi != start_psi and init.n_components > 1:
            raise EmstudioError(f"--psi {psi}, but the start {args.init} has Ψ {start_psi.replace('-', ' ')}")
        psi = psi or start_psi
    return FactorSettings(k=k, n_factors=factors, psi=psi or "shared", init=init, seed=args.seed,
                          restarts=args.restarts, max_iter=args.max_iter,
                          tol=args.tol if args.tol is not None else 1e-6)  # the change rule, plain EM


def _print_summary(fit, columns, stream) -> None:
    from emstudio.core.factor import varimax

    p = fit.params
    state = "converged" if fit.converged else ("stopped" if fit.stopped else "not converged")
    name = "factor analysis" if p.n_components == 1 else f"K={p.n_components} factor analysers"
    icl = f"  ICL = {fit.icl:.4f}" if p.n_components > 1 else ""
    stream.write(f"{name}, q={p.n_factors}, Ψ {'shared' if p.psi_shared else 'per component'}: "
                 f"log L = {fit.log_likelihood:.6f}  BIC = {fit.bic:.4f}  AIC = {fit.aic:.4f}{icl}\n")
    stream.write(f"{fit.n_iter} iterations, {state}; {fit.n_samples} samples, {fit.n_parameters} free parameters\n")
    width = max(6, *(len(c) for c in columns))
    for k in range(p.n_components):
        if p.n_components > 1:
            stream.write(f"component {k + 1}: weight {p.weights[k]:.4f}\n")
        rotated = varimax(p.loadings[k])[0] if p.n_factors > 1 else p.loadings[k]
        header = "".join(f"{'F' + str(f + 1):>10}" for f in range(p.n_factors))
        stream.write(f"  {'column':<{width}} {header}{'uniqueness':>12}{'communality':>13}\n")
        communality = (p.loadings[k] ** 2).sum(axis=1)
        for j, column in enumerate(columns):
            row = "".join(f"{v:>10.4g}" for v in rotated[j])
            stream.write(f"  {column:<{width}} {row}{p.psi[k, j]:>12.4g}{communality[j]:>13.4g}\n")
    if p.n_factors > 1:
        stream.write("  (loadings shown after varimax rotation; rotation does not change the likelihood)\n")


def command_fit_factor(args, load_values, check_outputs) -> int:
    """Fit a factor model to DATA; ``load_values`` and ``check_outputs`` are cli.py's."""
    from emstudio.core.factor import fit_factor, heywood_message
    from emstudio.errors import EmstudioError

    check_outputs([args.out, args.labels], args.data)
    if args.labels and args.model == "fa":
        raise EmstudioError("--labels needs components: factor analysis has one (use --model mfa)")
    loaded, _, _ = load_values(args)  # factor models are equivariant to units: --standardize changes nothing
    settings = _settings(args, loaded.values.shape[1])
    try:
        fit = fit_factor(loaded.values, settings, column_names=loaded.columns)
    except EmstudioError as exc:
        dropped = loaded.report.n_dropped
        if dropped:
            raise EmstudioError(f"{exc} ({dropped} row{'s' * (dropped != 1)} dropped for missing values)") from None
        raise
    for line in loaded.report.lines():
        sys.stderr.write(f"{PROG}: {line}\n")
    message = heywood_message(fit.heywood, loaded.columns)
    if message:
        sys.stderr.write(f"{PROG}: warning: {message}\n")
    outputs = []
    if args.out:
        from emstudio.io.factor_results import factor_result_to_dict

        content = factor_result_to_dict(fit, source=os.path.basename(loaded.report.source),
                                        columns=loaded.columns, n_dropped=loaded.report.n_dropped)
        outputs.append((args.out, json.dumps(content, indent=2, allow_nan=False) + "\n"))
    if args.labels:
        from emstudio.core.em import responsibilities
        from emstudio.io.results import labels_csv

        resp = responsibilities(loaded.values, fit.params.to_mixture())
        outputs.append((args.labels, labels_csv(loaded.values, loaded.columns, resp, row_ids=loaded.row_ids(),
                                                cell_text=loaded.cell_text)))
    from emstudio.cli import write_outputs

    write_outputs(outputs)
    if not args.quiet and "-" not in (args.out, args.labels):
        _print_summary(fit, loaded.columns, sys.stdout)
        if loaded.classes is not None:  # --classes: the components against the known classes
            from emstudio.core.classes import compare_with_classes
            from emstudio.core.em import predict

            mixture = fit.params.to_mixture()
            comparison = compare_with_classes(loaded.classes, predict(loaded.values, mixture), mixture.n_components)
            sys.stdout.write("".join(line + "\n" for line in comparison.lines()))
    return 0
