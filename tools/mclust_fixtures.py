"""Reference values from R's mclust for the known-classes comparison (emstudio.core.classes).

    .venv/bin/python tools/mclust_fixtures.py          # writes tests/core/mclust_fixtures.json

Needs Rscript with mclust (Debian: ``apt-get install r-base-core r-cran-mclust``). Each case is a
classification (components 1 … K, as R numbers them) and known classes (text, or integers);
R computes ``adjustedRandIndex`` and ``classError`` for it. The cases: hand-made edge cases
(identical partitions, one class, ties in the class↔component maps, empty components, integer
classes), random partitions of several shapes, and mclust's own fit of iris against Species.

The tests compare emstudio with the committed file, and with a live R run when R is here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "core" / "mclust_fixtures.json"

# Reads case files <i>.csv (columns classification, class) and writes one line per case:
# ARI, error rate, misclassified rows (1-based). Classes are read as text or as numbers as the
# case says; the C locale makes R sort text by code point.
R_SCRIPT = r"""
suppressMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
folder <- args[1]
kinds <- readLines(file.path(folder, "kinds.txt"))
out <- character(0)
for (i in seq_along(kinds)) {
  cls <- if (kinds[i] == "integer") "numeric" else "character"
  d <- read.csv(file.path(folder, paste0(i - 1, ".csv")), colClasses = c("numeric", cls),
                na.strings = character(0), stringsAsFactors = FALSE)
  ari <- adjustedRandIndex(d$classification, d$class)
  ce <- classError(d$classification, d$class)
  out <- c(out, paste(format(ari, digits = 17), format(ce$errorRate, digits = 17),
                      paste(ce$misclassified, collapse = " "), sep = ";"))
}
writeLines(out, file.path(folder, "results.txt"))
"""

# mclust's own example: the VEV fit of iris with three components, against Species.
R_IRIS = r"""
suppressMessages(library(mclust))
fit <- Mclust(iris[, 1:4], G = 3, modelNames = "VEV", verbose = FALSE)
writeLines(paste(fit$classification, as.character(iris$Species), sep = ";"))
"""


def have_r() -> bool:
    """Whether Rscript with mclust is on this machine."""
    if shutil.which("Rscript") is None:
        return False
    probe = subprocess.run(["Rscript", "-e", "suppressMessages(library(mclust))"],
                           capture_output=True, env=_r_env())
    return probe.returncode == 0


def _r_env() -> dict:
    return {**os.environ, "LC_ALL": "C", "LANG": "C"}


def _csv_text(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def run_mclust(cases: list[dict]) -> list[dict]:
    """R's results for ``cases`` (each ``classification``: ints 1…K, ``classes``: texts or ints,
    ``kind``: "text" or "integer"): ``ari``, ``error``, ``misclassified`` (1-based)."""
    with tempfile.TemporaryDirectory(prefix="emstudio-mclust-") as folder:
        for i, case in enumerate(cases):
            lines = ["classification,class"]
            for c, y in zip(case["classification"], case["classes"]):
                lines.append(f"{c},{y if case['kind'] == 'integer' else _csv_text(y)}")
            Path(folder, f"{i}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        Path(folder, "kinds.txt").write_text("\n".join(c["kind"] for c in cases) + "\n", encoding="utf-8")
        script = Path(folder, "compare.R")
        script.write_text(R_SCRIPT, encoding="utf-8")
        subprocess.run(["Rscript", str(script), folder], check=True, env=_r_env())
        rows = Path(folder, "results.txt").read_text(encoding="utf-8").splitlines()
    results = []
    for row in rows:
        ari, error, wrong = row.split(";")
        results.append({"ari": None if ari in ("NaN", "NA") else float(ari), "error": float(error),
                        "misclassified": [int(w) for w in wrong.split()]})
    return results


def iris_case() -> dict:
    """mclust's VEV fit of iris with K = 3, and the species."""
    out = subprocess.run(["Rscript", "-e", R_IRIS], check=True, capture_output=True, text=True, env=_r_env())
    pairs = [line.split(";") for line in out.stdout.splitlines() if line]
    return {"name": "iris VEV K=3 against Species", "kind": "text",
            "classification": [int(c) for c, _ in pairs], "classes": [s for _, s in pairs]}


def random_cases(seed: int, count: int) -> list[dict]:
    """Random partitions: K and the number of classes 1–6, sizes 2–300, classes text or integer,
    often close to each other (a noisy copy) so that the maps matter."""
    rng = np.random.default_rng(seed)
    names = ["setosa", "versicolor", "virginica", "B", "a", "Zeta"]
    cases = []
    for i in range(count):
        n = int(rng.integers(2, 300))
        k = int(rng.integers(1, 7))
        c = int(rng.integers(1, 7))
        truth = rng.integers(0, c, size=n)
        comp = (truth + rng.integers(0, k, size=n) * (rng.random(n) < rng.random())) % k
        kind = "integer" if i % 3 == 0 else "text"
        classes = [int(t) * 2 + 1 for t in truth] if kind == "integer" else [names[t] for t in truth]
        cases.append({"name": f"random {i}", "kind": kind, "classification": [int(x) + 1 for x in comp],
                      "classes": classes})
    return cases


def edge_cases() -> list[dict]:
    t = "text"
    return [
        {"name": "identical", "kind": t, "classification": [1, 1, 2, 2, 3, 3], "classes": list("aabbcc")},
        {"name": "one class, one component", "kind": t, "classification": [1, 1, 1], "classes": list("xxx")},
        {"name": "one class, two components", "kind": t, "classification": [1, 2, 1, 2], "classes": list("xxxx")},
        {"name": "two classes, one component", "kind": t, "classification": [1, 1, 1, 1], "classes": list("xyxy")},
        {"name": "ties in both maps", "kind": t, "classification": [1, 1, 2, 2], "classes": list("abab")},
        {"name": "empty component 2", "kind": t, "classification": [1, 1, 3, 3, 3], "classes": list("ppqqq")},
        {"name": "more components than classes", "kind": t,
         "classification": [1, 2, 3, 4, 1, 2, 3, 4], "classes": list("aaaabbbb")},
        {"name": "integer classes", "kind": "integer", "classification": [2, 2, 1, 1, 1],
         "classes": [10, 10, 2, 2, 10]},
        {"name": "all singletons", "kind": t, "classification": [1, 2, 3], "classes": list("abc")},
        {"name": "case in text order", "kind": t, "classification": [1, 1, 2, 2, 2],
         "classes": ["b", "B", "a", "A", "b"]},
    ]


def main() -> int:
    if not have_r():
        sys.stderr.write("mclust_fixtures: needs Rscript with mclust (apt-get install r-base-core r-cran-mclust)\n")
        return 1
    cases = edge_cases() + random_cases(seed=12, count=40) + [iris_case()]
    results = run_mclust(cases)
    version = subprocess.run(["Rscript", "-e", 'cat(as.character(packageVersion("mclust")))'],
                             check=True, capture_output=True, text=True, env=_r_env()).stdout.strip()
    for case, result in zip(cases, results):
        case.update(result)
    # One case a line: a diff shows which cases changed.
    head = json.dumps({"made_by": "tools/mclust_fixtures.py", "mclust_version": version})[:-1]
    body = ",\n".join(json.dumps(case) for case in cases)
    FIXTURES.write_text(f'{head}, "cases": [\n{body}\n]}}\n', encoding="utf-8")
    print(f"{FIXTURES.relative_to(ROOT)}: {len(cases)} cases from mclust {version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
