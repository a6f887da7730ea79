"""Make the sample data sets the window offers on first start (deterministic: run it again, same files).

    python tools/make_samples.py

Each set shows one side of EM's character:
- separated.csv   three well-separated round clusters: EM converges in a few iterations.
- overlapping.csv three overlapping clusters: responsibilities stay mixed, convergence is slow.
- elongated.csv   two long, tilted, crossing clusters: full covariances matter (try diag).
- one_d.csv       a 1-D mixture of three normals (histogram and densities).
- four_d.csv      d = 4, three clusters: choose the two axes to look at; ellipses are marginals.

Not made here: iris.csv is Fisher's (Anderson's) iris data as R writes it (write.csv(iris,
row.names = FALSE)): four measurements and the known Species, for comparing a fit with known
classes (--classes Species).
"""

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1] / "emstudio" / "samples"  # package data: pip install ships them


def _blobs(rng, sizes, means, covariances):
    parts = [rng.multivariate_normal(m, c, size=n) for n, m, c in zip(sizes, means, covariances)]
    X = np.vstack(parts)
    return X[rng.permutation(len(X))]


def _rotated(sx, sy, angle_deg):
    a = np.radians(angle_deg)
    r = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return r @ np.diag([sx ** 2, sy ** 2]) @ r.T


def _write(name, header, X, fmt="%.4f"):
    np.savetxt(HERE / name, X, delimiter=",", header=",".join(header), comments="", fmt=fmt)


def main():
    rng = np.random.default_rng(20240601)
    _write("separated.csv", ["x", "y"],
           _blobs(rng, [150, 120, 130], [[0, 0], [6, 1], [2, 6]], [np.eye(2) * 0.8, np.eye(2) * 0.6, np.eye(2)]))
    _write("overlapping.csv", ["x", "y"],
           _blobs(rng, [200, 150, 150], [[0, 0], [2.2, 0.8], [0.8, 2.4]],
                  [_rotated(1.1, 0.8, 20), _rotated(0.9, 0.7, -30), _rotated(1.0, 0.6, 70)]))
    _write("elongated.csv", ["length", "width"],
           _blobs(rng, [220, 180], [[0, 0], [1.5, 0.5]], [_rotated(4.0, 0.35, 30), _rotated(3.5, 0.4, -35)]))
    _write("one_d.csv", ["value"],
           _blobs(rng, [180, 120, 100], [[-3.0], [0.5], [4.0]], [[[1.0]], [[0.36]], [[1.44]]]))
    means4 = np.array([[0, 0, 0, 0], [4, 1, 3, -2], [1, 5, -2, 2]], dtype=float)
    covs4 = []
    for s in (1.0, 0.8, 1.2):
        a = rng.normal(scale=0.4, size=(4, 4))
        covs4.append(s * np.eye(4) + a @ a.T)
    _write("four_d.csv", ["a", "b", "c", "d"], _blobs(rng, [150, 150, 150], means4, covs4))


if __name__ == "__main__":
    main()
