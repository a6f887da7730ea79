"""Write tests/core/mclust_models_fixtures.json: mclust's M-step of each of its 14 covariance
models (and E, V in one dimension) from given responsibilities, the log-likelihood of those
parameters and mclust's parameter counts, for tests/core/test_models.py; and, under "prior", the
same with mclust's conjugate prior (priorControl()): defaultPrior's values, the M-step of each model
that has one in closed form here, and Mclust's MAP fit of iris (tests/core/test_prior.py).

Needs R with mclust (Debian: `sudo apt-get install -y r-base-core r-cran-mclust`).
Run: .venv/bin/python tools/mclust_models_fixtures.py
(``prior_document()`` runs the prior part alone: the tests call it live when R is there.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests" / "core" / "mclust_models_fixtures.json"

R_PROGRAM = r"""
suppressMessages(library(mclust))
num <- function(x) paste0("[", paste(formatC(as.vector(x), digits = 17, format = "g"), collapse = ","), "]")
rows <- function(m) paste0("[", paste(apply(as.matrix(m), 1, num), collapse = ","), "]")
ctrl <- emControl(tol = c(1e-10, 1e-14), itmax = c(1000000L, 100000L))
case <- function(name, X, models, G) {
  set.seed(1)
  n <- nrow(X)
  z <- matrix(runif(n * G), n, G)
  block <- ceiling(seq_len(n) / (n / G))
  z[cbind(seq_len(n), pmin(block, G))] <- z[cbind(seq_len(n), pmin(block, G))] + 2
  z <- z / rowSums(z)
  out <- c()
  for (m in models) {
    ms <- mstep(modelName = m, data = X, z = z, control = ctrl)
    s <- ms$parameters$variance$sigma
    if (is.null(dim(s))) s <- array(rep(s, length.out = G), c(1, 1, G))
    if (length(dim(s)) == 2) s <- array(s, c(dim(s), 1))
    es <- estep(modelName = m, data = X, parameters = ms$parameters)
    out <- c(out, sprintf('"%s": {"sigma": %s, "loglik": %s, "nparams": %d}', m,
                          num(aperm(s, c(3, 2, 1))), num(es$loglik), nMclustParams(m, ncol(X), G)))
  }
  sprintf('{"data": "%s", "k": %d, "x": %s, "z": %s, "models": {%s}}', name, G, rows(X), rows(z),
          paste(out, collapse = ","))
}
models <- c("EII","VII","EEI","VEI","EVI","VVI","EEE","VEE","EVE","VVE","EEV","VEV","EVV","VVV")
cases <- c(case("iris", as.matrix(iris[, 1:4]), models, 3L),
           case("faithful", as.matrix(faithful), models, 2L),
           case("faithful-waiting", as.matrix(faithful[, 2, drop = FALSE]), c("E", "V"), 3L))
fits <- c()
for (m in models) {
  f <- Mclust(as.matrix(iris[, 1:4]), G = 3, modelNames = m, verbose = FALSE)
  fits <- c(fits, sprintf('"%s": {"pro": %s, "mean": %s, "sigma": %s, "loglik": %s, "bic": %s}', m,
                          num(f$parameters$pro), num(t(f$parameters$mean)),
                          num(aperm(f$parameters$variance$sigma, c(3, 2, 1))), num(f$loglik), num(f$bic)))
}
cat(sprintf('{"source": "R %s, mclust %s: mstep, estep, nMclustParams, Mclust", "cases": [%s], "mclust_fits": {%s}}\n',
            getRversion(), packageVersion("mclust"), paste(cases, collapse = ","), paste(fits, collapse = ",")))
"""


PRIOR_PROGRAM = r"""
suppressMessages(library(mclust))
num <- function(x) paste0("[", paste(formatC(as.vector(x), digits = 17, format = "g"), collapse = ","), "]")
rows <- function(m) paste0("[", paste(apply(as.matrix(m), 1, num), collapse = ","), "]")
sigma_of <- function(p, G, d) {
  s <- p$variance$sigma
  if (is.null(s)) s <- p$variance$sigmasq
  array(rep(s, length.out = d * d * G), c(d, d, G))
}
case <- function(name, X, models, G) {
  set.seed(7)
  n <- nrow(X); d <- ncol(X)
  z <- matrix(runif(n * G), n, G)
  block <- ceiling(seq_len(n) / (n / G))
  z[cbind(seq_len(n), pmin(block, G))] <- z[cbind(seq_len(n), pmin(block, G))] + 2
  z <- z / rowSums(z)
  out <- c()
  for (m in models) {
    dat <- if (d == 1) as.vector(X) else X
    pp <- defaultPrior(dat, G, m)
    ms <- mstep(modelName = m, data = dat, z = z, prior = priorControl())
    f <- Mclust(dat, G = G, modelNames = m, prior = priorControl(), verbose = FALSE)
    out <- c(out, sprintf(paste0('"%s": {"prior": {"shrinkage": %s, "mean": %s, "dof": %s, "scale": %s}, ',
                                 '"mstep": {"mean": %s, "sigma": %s}, ',
                                 '"fit": {"pro": %s, "mean": %s, "sigma": %s, "loglik": %s, "bic": %s}}'),
                          m, num(pp$shrinkage), num(pp$mean), num(pp$dof), num(pp$scale),
                          num(t(as.matrix(ms$parameters$mean))), num(aperm(sigma_of(ms$parameters, G, d), c(3, 2, 1))),
                          num(f$parameters$pro), num(t(as.matrix(f$parameters$mean))),
                          num(aperm(sigma_of(f$parameters, G, d), c(3, 2, 1))), num(f$loglik), num(f$bic)))
  }
  sprintf('{"data": "%s", "k": %d, "x": %s, "z": %s, "models": {%s}}', name, G, rows(X), rows(z),
          paste(out, collapse = ","))
}
cases <- c(case("iris", as.matrix(iris[, 1:4]), c("EII", "VII", "EEI", "EVI", "VVI", "EEE", "VVV"), 3L),
           case("faithful-waiting", as.matrix(faithful[, 2, drop = FALSE]), c("E", "V"), 2L))
cat(sprintf('{"source": "R %s, mclust %s: defaultPrior, mstep and Mclust with priorControl()", "cases": [%s]}\n',
            getRversion(), packageVersion("mclust"), paste(cases, collapse = ",")))
"""


def prior_document() -> dict:
    """The prior part, from R (FileNotFoundError without Rscript)."""
    text = subprocess.run(["Rscript", "-e", PRIOR_PROGRAM], check=True, capture_output=True, text=True).stdout
    return json.loads(text)


def main() -> int:
    try:
        text = subprocess.run(["Rscript", "-e", R_PROGRAM], check=True, capture_output=True, text=True).stdout
        prior = prior_document()
    except FileNotFoundError:
        print("Rscript not found: sudo apt-get install -y r-base-core r-cran-mclust", file=sys.stderr)
        return 1
    document = json.loads(text)
    document["prior"] = prior
    OUT.write_text(json.dumps(document) + "\n")
    print(f"wrote {OUT} ({len(document['cases'])} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
