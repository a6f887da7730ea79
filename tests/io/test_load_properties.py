"""Property tests: whatever bytes or text a file holds, the loader answers with data or DataError."""

from __future__ import annotations

import atexit
import math
import os
import shutil
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from emstudio.errors import DataError
from emstudio.io import _text_source
from emstudio.io.data import load_data

# EMSTUDIO_PROPERTY_EXAMPLES=5000 runs a longer search than the default.
SETTINGS = settings(max_examples=int(os.environ.get("EMSTUDIO_PROPERTY_EXAMPLES", "250")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

_DIR = tempfile.mkdtemp(prefix="emstudio-prop-")
atexit.register(shutil.rmtree, _DIR, True)


def outcome(content: bytes, name: str = "data.csv", columns=None):
    """Load ``content`` from a file; check the promises either way; return data or the error."""
    path = os.path.join(_DIR, name)
    with open(path, "wb") as f:
        f.write(content)
    try:
        data = load_data(path, columns)
    except DataError as exc:
        message = str(exc)
        assert message.startswith(path + ": ") and len(message) > len(path) + 2
        assert "\n" not in message and "\r" not in message
        return exc
    v = data.values
    assert isinstance(v, np.ndarray) and v.dtype == np.float64 and v.ndim == 2
    assert v.flags.c_contiguous
    assert v.shape[0] >= 1 and v.shape[1] == len(data.columns) >= 1
    assert np.isfinite(v).all()
    assert data.kept_rows.shape == (v.shape[0],) and data.kept_rows.dtype == np.int64
    assert data.report.n_rows_read - data.report.n_dropped == v.shape[0]
    assert data.report.columns_used == data.columns
    assert all(isinstance(line, str) and "\n" not in line for line in data.report.lines())
    return data


NAMES = st.sampled_from(["d.csv", "d.tsv", "d.txt", "d.npy", "d.npz", "d.xlsx", "d.parquet", "d.csv.gz"])
MAGIC = st.sampled_from([b"", b"", b"\x93NUMPY", b"\x93NUMPY\x01\x00", b"PK\x03\x04", b"PAR1",
                         b"\x1f\x8b", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"sep=;\n", b"# c\n"])


@SETTINGS
@given(magic=MAGIC, body=st.binary(max_size=600), name=NAMES)
@example(magic=b"", body=b"\r", name="d.csv")
@example(magic=b"", body=b'"', name="d.csv")
@example(magic=b"", body=b"a\n1\r2\n", name="d.csv")
@example(magic=b"\xff\xfe", body=b"a", name="d.csv")
def test_arbitrary_bytes(magic, body, name):
    outcome(magic + body, name)


@SETTINGS
@given(text=st.text(max_size=400), encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"]),
       name=NAMES)
def test_arbitrary_text(text, encoding, name):
    outcome(text.encode(encoding, errors="replace"), name)


# Text built from the pieces tables are made of, to reach the parser's corners more often.
TOKENS = st.sampled_from([
    "1", "-2.5", "3e4", "1,5", "1.234,5", ".5", "nan", "NaN", "inf", "-Infinity", "1e999", "NA",
    "", " ", "?", "x", "abc", '"q"', '"1"', '"a,b"', '"a\nb"', '"', '""', "1_0", "0x1f", "#", "#c",
])
SEPARATORS = st.sampled_from([",", ";", "\t", " ", "  ", "|"])
ENDINGS = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def table_like(draw):
    sep = draw(SEPARATORS)
    end = draw(ENDINGS)
    width = draw(st.integers(1, 5))
    rows = draw(st.lists(st.lists(TOKENS, min_size=max(width - 1, 1), max_size=width + 1),
                         min_size=0, max_size=12))
    header = draw(st.booleans())
    lines = [sep.join(f"h{j}" for j in range(width))] if header else []
    lines += [sep.join(r) for r in rows]
    text = end.join(lines) + draw(st.sampled_from(["", end]))
    return text


@SETTINGS
@given(text=table_like(), columns=st.none() | st.lists(st.sampled_from(["h0", "h1", "0", "1", "x0", "7", ""]),
                                                       max_size=3))
def test_table_like_text(text, columns):
    outcome(text.encode("utf-8"), "t.csv", columns)


@SETTINGS
@given(text=table_like())
def test_table_like_text_in_tiny_blocks(text):
    """Tiny read blocks split records anywhere: the answer must stay the same."""
    whole = outcome(text.encode("utf-8"), "w.csv")
    saved = (_text_source.BLOCK_BYTES, _text_source.HEAD_STEP, _text_source.HEAD_MIN_LINES)
    _text_source.BLOCK_BYTES, _text_source.HEAD_STEP, _text_source.HEAD_MIN_LINES = 7, 5, 2
    try:
        small = outcome(text.encode("utf-8"), "w.csv")
    finally:
        _text_source.BLOCK_BYTES, _text_source.HEAD_STEP, _text_source.HEAD_MIN_LINES = saved
    if isinstance(whole, DataError):
        # The head sample is smaller, so a sniff may differ; both must still be clean answers.
        return
    if not isinstance(small, DataError) and small.columns == whole.columns:
        np.testing.assert_array_equal(small.values, whole.values)


# Round trip: numbers written the ways people write them come back exactly.
FINITE = st.floats(allow_nan=False, allow_infinity=False, width=64)


@SETTINGS
@given(
    X=st.integers(1, 6).flatmap(lambda d: st.lists(st.lists(FINITE, min_size=d, max_size=d),
                                                   min_size=1, max_size=30)),
    style=st.sampled_from(["comma", "semicolon-decimal-comma", "tab", "spaces", "quoted"]),
    header=st.booleans(),
    missing=st.sets(st.integers(0, 29), max_size=5),
    crlf=st.booleans(),
)
def test_round_trip(X, style, header, missing, crlf):
    X = np.array(X, dtype=np.float64)
    n, d = X.shape
    # One headerless column of "1,5" is ambiguous (two comma-separated integers?): read as two.
    assume(not (d == 1 and not header and style == "semicolon-decimal-comma"))
    sep = {"comma": ",", "semicolon-decimal-comma": ";", "tab": "\t", "spaces": "   ",
           "quoted": ","}[style]
    missing = set(sorted(i for i in missing if i < n)[: n - 1])
    lines = [sep.join(f"col{j}" for j in range(d))] if header else []
    for i, row in enumerate(X):
        cells = [repr(float(v)) for v in row]
        if style == "semicolon-decimal-comma":
            cells = [c.replace(".", ",") for c in cells]
        if style == "quoted":
            cells = [f'"{c}"' for c in cells]
        if i in missing:
            cells[0] = "NA"
        lines.append(sep.join(cells))
    text = ("\r\n" if crlf else "\n").join(lines) + "\n"
    data = outcome(text.encode("ascii"), "r.csv")
    assert not isinstance(data, DataError), data
    keep = [i for i in range(n) if i not in missing]
    assert data.kept_rows.tolist() == keep
    assert data.values.shape == (len(keep), d)
    np.testing.assert_array_equal(data.values, X[keep])
    assert data.columns == tuple(f"{'col' if header else 'x'}{j}" for j in range(d))


@SETTINGS
@given(X=st.lists(st.lists(st.floats(width=32), min_size=3, max_size=3), min_size=1, max_size=20),
       kind=st.sampled_from(["npy", "npz"]))
def test_numpy_round_trip(X, kind):
    X = np.array(X, dtype=np.float32)
    path = os.path.join(_DIR, f"a.{kind}")
    if kind == "npy":
        np.save(path, X)
    else:
        np.savez(path, X=X, y=np.zeros(len(X)))
    usable = np.isfinite(X).any(axis=0)  # a column without a finite value is left out
    Xu = X[:, usable]
    finite = np.isfinite(Xu).all(axis=1)
    if not usable.any() or not finite.any():
        with pytest.raises(DataError):
            load_data(path)
        return
    data = load_data(path)
    np.testing.assert_array_equal(data.values, Xu[finite].astype(np.float64))
    assert data.kept_rows.tolist() == np.flatnonzero(finite).tolist()
    assert data.columns == tuple(f"x{j}" for j in np.flatnonzero(usable))
    assert not math.isnan(data.values.sum())
