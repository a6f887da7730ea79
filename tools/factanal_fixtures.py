"""Write tests/core/factanal_fixtures.json: R's factanal (maximum likelihood factor analysis) on data
sets R ships, and R's varimax, for tests/core/test_factor.py to compare against.

Needs Rscript (Debian: `sudo apt-get install -y r-base-core`). Run: .venv/bin/python tools/factanal_fixtures.py
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests" / "core" / "factanal_fixtures.json"

R_PROGRAM = r"""
num <- function(x) paste0("[", paste(formatC(as.vector(x), digits = 17, format = "g"), collapse = ","), "]")
rows <- function(m) paste0("[", paste(apply(as.matrix(m), 1, num), collapse = ","), "]")
cases <- list(list("attitude", 1), list("attitude", 2), list("LifeCycleSavings", 1),
              list("LifeCycleSavings", 2), list("mtcars", 1), list("mtcars", 2), list("mtcars", 3),
              list("swiss", 1))
out <- c()
for (case in cases) {
  name <- case[[1]]; q <- case[[2]]
  d <- as.matrix(get(name))
  fa <- factanal(d, factors = q, rotation = "none", control = list(nstart = 5, opt = list(maxit = 10000, reltol = 1e-14)))
  L <- unclass(loadings(fa))
  implied <- L %*% t(L) + diag(fa$uniquenesses)
  out <- c(out, sprintf('{"data": "%s", "factors": %d, "x": %s, "implied_correlation": %s, "uniquenesses": %s}',
                        name, q, rows(d), rows(implied), num(fa$uniquenesses)))
}
set.seed(1)
L <- matrix(rnorm(7 * 3), 7, 3)
v <- varimax(L, normalize = FALSE, eps = 1e-12)
varimax_case <- sprintf('{"loadings": %s, "rotated": %s}', rows(L), rows(unclass(v$loadings)))
cat(sprintf('{"source": "R %s, stats::factanal and stats::varimax", "factanal": [%s], "varimax": %s}\n',
            getRversion(), paste(out, collapse = ","), varimax_case))
"""


def main() -> int:
    try:
        text = subprocess.run(["Rscript", "-e", R_PROGRAM], check=True, capture_output=True, text=True).stdout
    except FileNotFoundError:
        print("Rscript not found: sudo apt-get install -y r-base-core", file=sys.stderr)
        return 1
    document = json.loads(text)
    OUT.write_text(json.dumps(document) + "\n")
    print(f"wrote {OUT} ({len(document['factanal'])} factanal cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
