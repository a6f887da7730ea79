"""The numbers of a block of records at C speed: ``numpy.loadtxt``, and the rewrite of missing
markers (``NA``, empty fields...) to ``nan`` that lets it read a block holding them."""

from __future__ import annotations

import io
import re
import warnings

import numpy as np

from emstudio.io._text_records import WHITESPACE

_BAD_TOKEN = re.compile(r"could not convert string '(.*)' to float64", re.DOTALL)


def loadtxt_block(data: bytes, delim: str, cols: list[int]) -> tuple[np.ndarray | None, str | None]:
    """numpy.loadtxt on a block: (array, None), or (None, the token it could not read, if known)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = np.loadtxt(
                io.BytesIO(data),
                dtype=np.float64,
                delimiter=None if delim == WHITESPACE else delim,
                quotechar='"',
                comments=None,
                usecols=cols,
                ndmin=2,
                encoding="latin-1",
            )
    except ValueError as exc:
        match = _BAD_TOKEN.search(str(exc))
        return None, match.group(1) if match else None
    except Exception:  # any other failure sends the block to the careful reader
        return None, None
    if arr.ndim != 2 or arr.shape[1] != len(cols):
        return None, None
    return np.ascontiguousarray(arr), None


def fields_to_nan(data: bytes, token: bytes, delim: str) -> bytes:
    """Write ``nan`` over every field of ``data`` that is exactly ``token`` (may be empty)."""
    if delim == WHITESPACE:
        if not token:
            return data
        before = (b" ", b"\t", b"\n")
        after = (b" ", b"\t", b"\n", b"\r")
    else:
        d = delim.encode("ascii")
        before = (d, b"\n")
        after = (d, b"\n", b"\r")
    for a in before:
        for b in after:
            if a == b"\n" and b in (b"\n", b"\r") and not token:
                continue  # an empty line is blank, not a missing value
            old, new = a + token + b, a + b"nan" + b
            data = data.replace(old, new).replace(old, new)  # twice: neighbours share a byte
    for b in after:
        if data.startswith(token + b) and (token or b not in (b"\n", b"\r")):
            data = b"nan" + data[len(token):]
            break
    return data
