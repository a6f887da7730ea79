"""Limits on what compressed input may expand to (decompression bombs).

A 1.6 MB ``.csv.gz`` can hold gigabytes of text, and a 467 KB workbook a 1.5 GB sheet. Such input
is refused while it is read, counted in bytes, as soon as it passes either limit:

- the **ratio**: past ``RATIO_FLOOR_BYTES`` of output, more than ``MAX_RATIO`` bytes out per
  byte in. Real tables compress 3–20× (a column of equal numbers in XML perhaps 50×); a ratio
  of hundreds is a file made to expand.
- the **size**: more uncompressed bytes than the memory available could hold. A table's numbers
  take about as many bytes as their text, so what cannot fit as text cannot fit as numbers.

For a zip member (a workbook's sheet, an ``.npz`` array) both are checked before it is read,
from the sizes the archive's directory declares (zipfile never produces more than that). Nothing here prints, and no Qt is imported.
"""

from __future__ import annotations

import io
import os
import zipfile

from emstudio.errors import DataError

#: Output bytes per input byte past which compressed input is refused (see the module's note).
MAX_RATIO = 100
#: Below this many output bytes the ratio is not checked (small, very regular files are fine).
RATIO_FLOOR_BYTES = 64 << 20


def available_memory() -> int:
    """Bytes of memory this process could still allocate (Linux: MemAvailable; else the RAM)."""
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 1 << 34


def _size(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} bytes"


class Expansion:
    """Counts the bytes that went into a decompressor and came out; refuses past the limits."""

    def __init__(self, source: str, what: str, *, max_size: int | None = None):
        self.source = source
        self.what = what  # "gzip data", "the sheet 'data'", ...
        self.max_size = available_memory() if max_size is None else max_size
        self.bytes_in = 0
        self.bytes_out = 0

    def check(self, bytes_in: int, bytes_out: int) -> None:
        """Raise DataError if ``bytes_out`` from ``bytes_in`` passes the ratio or the size."""
        if bytes_out > self.max_size:
            raise DataError(f"{self.source}: {self.what} expands to more than {_size(self.max_size)}, "
                            "more than the memory available holds")
        if bytes_out > RATIO_FLOOR_BYTES and bytes_out > MAX_RATIO * max(bytes_in, 1):
            raise DataError(f"{self.source}: {self.what} expands more than {MAX_RATIO}-fold "
                            f"({_size(bytes_in)} to more than {_size(bytes_out)}); refused as a "
                            "decompression bomb (decompress it yourself if it is real)")

    def add_out(self, n: int) -> None:
        self.bytes_out += n
        self.check(self.bytes_in, self.bytes_out)


class CountingReader(io.RawIOBase):
    """A binary stream that counts the bytes read from ``raw`` into ``expansion.bytes_in``."""

    def __init__(self, raw, expansion: Expansion):
        self._raw = raw
        self._expansion = expansion

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self._expansion.bytes_in += n
        return n

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._expansion.bytes_in += len(data)
        return data

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


class LimitedReader(io.RawIOBase):
    """The output of a decompressing stream, refused (DataError) once it passes the limits."""

    def __init__(self, decompressed, expansion: Expansion):
        self._stream = decompressed
        self._expansion = expansion

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._expansion.add_out(len(data))
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            super().close()


def decompressing_reader(raw, compression: str, source: str) -> LimitedReader:
    """The decompressed bytes of ``raw`` (``compression``: "gzip", "bzip2" or "xz"), refused with
    DataError once they pass the ratio or the size; counted as they are read, so a bomb is
    refused after a few megabytes of its input, not after its whole output."""
    import bz2
    import gzip
    import lzma

    expansion = Expansion(source, f"the {compression} data")
    counted = CountingReader(raw, expansion)
    opener = {"gzip": lambda f: gzip.GzipFile(fileobj=f, mode="rb"),
              "bzip2": lambda f: bz2.BZ2File(f, mode="rb"),
              "xz": lambda f: lzma.LZMAFile(f, mode="rb")}[compression]
    return LimitedReader(opener(counted), expansion)


def check_zip_member(info: zipfile.ZipInfo, source: str, what: str) -> None:
    """Refuse a zip member whose declared sizes pass the limits, before a byte of it is read.

    The declared sizes are enough: zipfile never produces more than the declared uncompressed
    size (a member that holds more fails its CRC check at that point), and reads at most the
    declared compressed size.
    """
    Expansion(source, what).check(info.compress_size, info.file_size)


def open_zip_member(archive: zipfile.ZipFile, name: str, source: str, what: str):
    """Member ``name`` of ``archive`` as a binary stream, refused first if it is a bomb."""
    info = archive.getinfo(name)
    check_zip_member(info, source, what)
    return archive.open(info)
