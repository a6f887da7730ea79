"""Hostile data files (issue 10, items 4, 7 and 13): decompression bombs refused early, counted
in the bytes read (never timed); text in no known encoding; workbooks made to hang the reader."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile

import numpy as np
import pytest

from emstudio.errors import DataError
from emstudio.io import _limits
from emstudio.io._numpy_files import read_npz
from emstudio.io._text import read_text
from emstudio.io.data import load_data

BOMB_BYTES = 16 << 20  # what each bomb expands to
COMPRESS = {"gzip": lambda data: gzip.compress(data, 1), "bzip2": lambda data: bz2.compress(data, 1),
            "xz": lambda data: lzma.compress(data, preset=0)}
SUFFIX = {"gzip": ".gz", "bzip2": ".bz2", "xz": ".xz"}


class CountingBytes(io.BytesIO):
    """A stream that counts how many of its bytes were read."""

    bytes_read = 0

    def read(self, size=-1):
        data = super().read(size)
        self.bytes_read += len(data)
        return data

    def readinto(self, buffer):
        n = super().readinto(buffer)
        self.bytes_read += n
        return n


@pytest.fixture
def small_floor(monkeypatch):
    """The ratio is checked past 1 MiB of output instead of 64 MiB (so the bombs stay small)."""
    monkeypatch.setattr(_limits, "RATIO_FLOOR_BYTES", 1 << 20)


@pytest.mark.parametrize("compression", ["gzip", "bzip2", "xz"])
def test_compressed_text_bombs_are_refused_after_reading_a_little(small_floor, compression):
    bomb = COMPRESS[compression](b"a,b\n" + b"0,0\n" * (BOMB_BYTES // 4))
    stream = CountingBytes(bomb)
    with pytest.raises(DataError, match="decompression bomb"):
        read_text(stream, "bomb.csv", None, ".csv", compression=compression)
    # Refused at about RATIO_FLOOR_BYTES / ratio of input: far less than the whole file, and the
    # 16 MiB of text were never all produced.
    assert stream.bytes_read < max(len(bomb) // 4, 64 << 10)


@pytest.mark.parametrize("compression", ["gzip", "bzip2", "xz"])
def test_compressed_text_larger_than_the_memory_is_refused(monkeypatch, compression):
    monkeypatch.setattr(_limits, "available_memory", lambda: 2 << 20)
    rows = np.random.default_rng(0).normal(size=(200_000, 2))  # ~8 MB of text: ratio ~2
    text = b"a,b\n" + b"".join(b"%r,%r\n" % (x, y) for x, y in rows.tolist())
    compressed = COMPRESS[compression](text)
    stream = CountingBytes(compressed)
    with pytest.raises(DataError, match="more than the memory available"):
        read_text(stream, "big.csv", None, ".csv", compression=compression)
    assert stream.bytes_read < len(compressed)


@pytest.mark.parametrize("compression", ["gzip", "bzip2", "xz"])
def test_compressed_text_files_are_read(tmp_path, compression):
    path = tmp_path / f"a.csv{SUFFIX[compression]}"
    path.write_bytes(COMPRESS[compression](b"x,y\n1,2\n3,4\n"))
    loaded = load_data(path)
    assert loaded.values.tolist() == [[1, 2], [3, 4]]
    assert f"{compression}-compressed" in loaded.report.notes


def test_npz_bomb_is_refused_from_its_declared_sizes(small_floor):
    buffer = io.BytesIO()
    np.savez_compressed(buffer, X=np.zeros((BOMB_BYTES // 16, 2)))
    stream = CountingBytes(buffer.getvalue())
    with pytest.raises(DataError, match="decompression bomb"):
        read_npz(stream, "bomb.npz")
    assert stream.bytes_read < len(stream.getvalue()) // 2  # the zip directory, not the member


def test_bytes_above_127_only_are_not_text_in_a_known_encoding(tmp_path):
    path = tmp_path / "high.csv"
    path.write_bytes(bytes(range(128, 256)) * 64)
    with pytest.raises(DataError, match="not text in a known encoding"):
        load_data(path)
    # Latin-1 text with a few accented letters is still text.
    (tmp_path / "latin.csv").write_bytes("größe,weiß\n1,2\n3,4\n".encode("latin-1"))
    assert load_data(tmp_path / "latin.csv").columns == ("größe", "weiß")
