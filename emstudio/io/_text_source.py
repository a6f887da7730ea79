"""A text file's bytes, block after block: decompressed, with CR-only line ends made ``\\n``; its
head (the first ~30 lines), and the head's encoding (UTF-8, UTF-8 with BOM, UTF-16 with BOM
re-encoded as UTF-8, otherwise Windows-1252/Latin-1), binary data and unknown encodings refused."""

from __future__ import annotations

import codecs
import io
import lzma
import os
import zlib
from typing import BinaryIO

from emstudio.errors import DataError
from emstudio.io._common import one_line
from emstudio.io._limits import decompressing_reader

BLOCK_BYTES = 4 << 20  # bytes read per block of the body
HEAD_STEP = 256 << 10
HEAD_MAX = 8 << 20  # the head grows until it holds HEAD_MIN_LINES lines or reaches this size
HEAD_MIN_LINES = 30
UNKNOWN_ENCODING_SHARE = 0.3  # text that is not UTF-8 with more bytes > 127 than this is refused

_GZIP_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError)


class TextSource:
    """The file's bytes, block after block, decompressed and with line ends made ``\\n``."""

    def __init__(self, path: str | io.BytesIO, source: str, compression: str | None) -> None:
        self.source = source
        self.compression = compression  # "gzip", "bzip2", "xz" or None
        try:
            # The loader gives the bytes of an input that can be read only once (a pipe).
            raw: BinaryIO = path if isinstance(path, io.BytesIO) else open(path, "rb")
        except OSError as exc:
            raise DataError(f"{source}: cannot read the file ({exc.strerror or exc})") from None
        # Compressed text is refused past a ratio or a size (a decompression bomb), as it is read.
        self._file: BinaryIO = decompressing_reader(raw, compression, source) if compression else raw
        self._raw = raw
        self.cr_only = False
        self.prefix = 0  # bytes of the file before the head as the reader sees it (a BOM)
        try:
            self.size: int | None = (None if compression else len(raw.getvalue()) if isinstance(raw, io.BytesIO)
                                     else os.fstat(raw.fileno()).st_size)
        except OSError:
            self.size = None

    def read(self, n: int) -> bytes:
        try:
            data = self._file.read(n)
        except _GZIP_ERRORS as exc:
            what = f"{self.compression} data" if self.compression else "file"
            raise DataError(f"{self.source}: cannot read the {what} ({one_line(str(exc))})") from None
        if self.cr_only:
            data = data.replace(b"\r", b"\n")
        return data

    def read_block(self) -> bytes:
        """The next BLOCK_BYTES bytes (fewer at the end; none past it)."""
        return self.read(BLOCK_BYTES)

    def replace(self, data: bytes) -> None:
        """Go on reading from ``data`` instead (used after re-encoding UTF-16 as UTF-8)."""
        self.close()
        self._file = io.BytesIO(data)
        self.compression = None

    def close(self) -> None:
        try:
            self._file.close()
        finally:
            self._raw.close()

    # ------------------------------------------------------------------ head of the file
    def read_head(self) -> tuple[bytes, bool]:
        """The file's first HEAD_MIN_LINES lines or more (up to HEAD_MAX bytes), and whether that
        is the whole file. A file with only CR line ends is read with ``\\n`` from here on."""
        head = self.read(HEAD_STEP)
        at_eof = len(head) < HEAD_STEP
        if not at_eof and b"\n" not in head and b"\r" in head:
            self.cr_only = True
            head = head.replace(b"\r", b"\n")
        while not at_eof and head.count(b"\n") < HEAD_MIN_LINES and len(head) < HEAD_MAX:
            more = self.read(HEAD_STEP)
            at_eof = len(more) < HEAD_STEP
            head += more
        if at_eof and b"\n" not in head and b"\r" in head:
            self.cr_only = True
            head = head.replace(b"\r", b"\n")
        return head, at_eof

    def head_encoding(self, head: bytes, at_eof: bool, notes: list[str]) -> tuple[bytes, bool, str]:
        """Strip a BOM, re-encode UTF-16 as UTF-8, reject binary data; return the encoding.
        A note for ``notes`` says which encoding, unless it is UTF-8."""
        if head.startswith(codecs.BOM_UTF8):
            self.prefix = 3
            return head[3:], at_eof, "utf-8"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            rest = [head]
            while True:
                more = self.read_block()
                if not more:
                    break
                rest.append(more)
            try:
                text = b"".join(rest).decode("utf-16")
            except UnicodeDecodeError:
                raise DataError(f"{self.source}: the file starts like UTF-16 text but is not valid UTF-16") from None
            data = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
            self.replace(data)
            self.size = len(data)
            self.cr_only = False
            notes.append("encoding UTF-16")
            head, at_eof = self.read_head()
            return head, at_eof, "utf-8"
        self._reject_binary(head)
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=at_eof)
            return head, at_eof, "utf-8"
        except UnicodeDecodeError:
            pass
        self._reject_unknown_encoding(head)
        try:
            codecs.getincrementaldecoder("cp1252")().decode(head, final=at_eof)
            notes.append("encoding latin-1 (Windows-1252)")
            return head, at_eof, "cp1252"
        except UnicodeDecodeError:
            notes.append("encoding latin-1")
            return head, at_eof, "latin-1"

    def _reject_unknown_encoding(self, head: bytes) -> None:
        """Not UTF-8, and mostly bytes above 127: no table in Latin-1 looks like that (its
        numbers, separators and most letters are ASCII). Read as Latin-1 it would be one long
        header line and "no data rows", which says nothing of the real problem."""
        visible = len(head) - sum(head.count(c) for c in b" \t\r\n")
        high = len(head.translate(None, bytes(range(128))))
        if visible and high > UNKNOWN_ENCODING_SHARE * visible:
            raise DataError(
                f"{self.source}: not text in a known encoding (UTF-8, UTF-16, Windows-1252 or "
                f"Latin-1): {100 * high // visible}% of its first {len(head):,} bytes are not ASCII; "
                "readable formats: CSV/TSV/text, .npy, .npz, .xlsx, .parquet"
            )

    def _reject_binary(self, head: bytes) -> None:
        if not head:
            return
        control = sum(head.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13))
        if b"\x00" in head or control > 0.02 * len(head):
            raise DataError(
                f"{self.source}: not a text table (the file holds binary data); readable formats: "
                "CSV/TSV/text, .npy, .npz, .xlsx, .parquet"
            )
