"""Opening a path the user gave as input, once, whatever it is.

A regular file can be opened as often as a reader likes. A pipe, a FIFO, standard input or a
device cannot: what one open reads is gone for the next, and a second open of a FIFO waits for a
second writer that never comes. So such an input is read once, whole, into memory (up to a
limit), and the readers are given those bytes; only a regular file is handed on by its name.

``-`` means standard input. Nothing here prints, and no Qt is imported.
"""

from __future__ import annotations

import errno
import io
import os
import select
import stat
import sys
from dataclasses import dataclass

from emstudio.errors import DataError, EmstudioError

STDIN = "-"
STDIN_NAME = "standard input"

#: The most bytes read into memory from a pipe, FIFO, device or standard input. A larger input
#: belongs in a file, which is read in blocks without being held whole.
STREAM_LIMIT_BYTES = 1 << 30

_CHUNK = 1 << 20
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # POSIX only; Windows has no FIFOs to wait on
_OPEN_FLAGS = os.O_RDONLY | _O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0) \
    | getattr(os, "O_BINARY", 0)


@dataclass(frozen=True)
class Input:
    """An opened input: a regular file by ``path``, anything else as its whole content ``data``."""

    source: str  # the name used in messages ("standard input" for -)
    path: str | None  # a regular file, which readers may open by name
    data: bytes | None  # the whole content of a non-regular input, read once
    head: bytes  # the first bytes (up to 16), to recognise the format

    def reader_input(self) -> str | io.BytesIO:
        """What a reader opens: the regular file's path, or a fresh stream over the bytes read
        (each call starts at byte 0; the bytes are shared, not copied)."""
        return self.path if self.data is None else io.BytesIO(self.data)


def display_name(path: str | os.PathLike) -> str:
    """The name of an input in messages (``-`` is standard input)."""
    text = os.fsdecode(path)
    return STDIN_NAME if text == STDIN else text


def open_input(path: str | os.PathLike, *, limit: int | None = None, wait_for_writer: float | None = None,
               error: type[EmstudioError] = DataError, head_bytes: int = 16) -> Input:
    """Open ``path`` once: a regular file's first bytes, or all of any other input.

    ``limit`` caps the bytes read from a non-regular input (default STREAM_LIMIT_BYTES); past it
    ``error`` is raised with one line. ``wait_for_writer``: seconds to wait for a program to
    open a FIFO for writing (None waits as long as it takes, as ``cat`` does; Ctrl+C ends it).
    """
    source = display_name(path)
    limit = STREAM_LIMIT_BYTES if limit is None else limit
    if os.fsdecode(path) == STDIN:
        data = _read_stdin(source, limit, error)
        return Input(source, None, data, data[:head_bytes])
    name = os.fsdecode(path)
    try:
        fd = os.open(name, _OPEN_FLAGS)
    except (OSError, ValueError) as exc:
        raise error(f"{source}: {describe_open_error(name, exc)}") from None
    try:
        info = os.fstat(fd)
        mode = info.st_mode
        if stat.S_ISDIR(mode):
            raise error(f"{source}: is a folder, not a data file")
        if stat.S_ISREG(mode):
            return Input(source, name, None, _read_head(fd, source, head_bytes, error))
        data = _read_once(fd, mode, source, limit, wait_for_writer, error, _STREAM_TOO_LARGE)
        return Input(source, None, data, data[:head_bytes])
    finally:
        os.close(fd)


def read_input_bytes(path: str | os.PathLike, *, limit: int, wait_for_writer: float | None = None,
                     error: type[EmstudioError] = EmstudioError, what: str = "file") -> bytes:
    """The whole content of ``path`` (a file, pipe, FIFO, device or ``-``), opened once, at most
    ``limit`` bytes: past it ``error`` says that a ``what`` is read up to that size."""
    source = display_name(path)
    if os.fsdecode(path) == STDIN:
        return _read_stdin(source, limit, error)
    name = os.fsdecode(path)
    try:
        fd = os.open(name, _OPEN_FLAGS)
    except (OSError, ValueError) as exc:
        raise error(f"{source}: {describe_open_error(name, exc)}") from None
    try:
        info = os.fstat(fd)
        too_large = f"; a {what} is read up to that size"
        if stat.S_ISDIR(info.st_mode):
            raise error(f"{source}: is a folder, not a file")
        if stat.S_ISREG(info.st_mode) and info.st_size > limit:
            raise error(f"{source}: more than {_size_text(limit)}{too_large}")
        return _read_once(fd, info.st_mode, source, limit, wait_for_writer, error, too_large)
    finally:
        os.close(fd)


_STREAM_TOO_LARGE = (" from a pipe, FIFO, device or standard input; save it to a file and give the "
                     "file's name")


def path_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot be an input, found without opening it (None if it may be one).

    For checks made before the real read (the window's command line, ``--init``): a FIFO is
    not opened here, since opening it would wait for a writer.
    """
    name = os.fsdecode(path)
    if name == STDIN:
        return None
    try:
        info = os.stat(name)
    except (OSError, ValueError) as exc:
        return describe_open_error(name, exc)
    if stat.S_ISDIR(info.st_mode):
        return "is a folder, not a file"
    return None


def describe_open_error(name: str, exc: BaseException) -> str:
    """One clause saying why ``name`` could not be opened or looked at."""
    code = getattr(exc, "errno", None)
    if isinstance(exc, ValueError):  # a NUL character in the name
        return "not a valid file name"
    if code == errno.ENOENT:
        if os.path.islink(name):
            try:
                target = os.readlink(name)
            except OSError:
                target = "?"
            return f"a symbolic link to {target!r}, which does not exist"
        return "no such file"
    if code == errno.ELOOP:
        return "a symbolic link loop (following its links never reaches a file)"
    if code in (errno.EACCES, errno.EPERM):
        return "cannot read the file (permission denied)"
    if code == errno.ENOTDIR:
        return "no such file (a part of the path is not a folder)"
    if code == errno.ENXIO:
        return "a socket or a device with nothing behind it, not a file"
    if code == errno.ENAMETOOLONG:
        return "the name is too long"
    return f"cannot read the file ({getattr(exc, 'strerror', None) or exc})"


def _size_text(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} bytes"


def _read_head(fd: int, source: str, n: int, error: type[EmstudioError]) -> bytes:
    try:
        return os.pread(fd, n, 0) if hasattr(os, "pread") else os.read(fd, n)
    except OSError as exc:
        raise error(f"{source}: cannot read the file ({exc.strerror or exc})") from None


def _read_once(fd: int, mode: int, source: str, limit: int, wait_for_writer: float | None,
               error: type[EmstudioError], too_large: str) -> bytes:
    """All of an opened input (a FIFO once it has a writer), up to ``limit`` bytes."""
    if stat.S_ISCHR(mode) and os.isatty(fd):
        raise error(f"{source}: a terminal, not a file to read")
    if stat.S_ISFIFO(mode):
        _wait_for_writer(fd, source, wait_for_writer, error)
    return _read_all(fd, source, limit, error, too_large)


def _wait_for_writer(fd: int, source: str, timeout: float | None, error: type[EmstudioError]) -> None:
    """Wait until a program has opened the FIFO for writing (data, or its end, can be read).

    The FIFO was opened without blocking, so the open never hangs; on Linux its poll reports
    nothing until a first writer comes (then data, or the end when it leaves without writing).
    """
    if not hasattr(select, "poll"):
        return
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    if not poller.poll(None if timeout is None else max(0, int(timeout * 1000))):
        raise error(f"{source}: a named pipe (FIFO) that no program writes to "
                    f"(waited {timeout:g} s); start the writer, then read it")


def _read_all(fd: int, source: str, limit: int, error: type[EmstudioError], too_large: str) -> bytes:
    """Every byte up to the end, in blocking mode; past ``limit`` bytes, ``error`` says
    "more than LIMIT" and ``too_large``.

    Collected in one BytesIO, whose getvalue() hands over its buffer without a copy.
    """
    try:
        os.set_blocking(fd, True)
    except (OSError, AttributeError):
        pass
    buffer = io.BytesIO()
    total = 0
    while True:
        try:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
        except InterruptedError:  # pragma: no cover - PEP 475 retries these
            continue
        except OSError as exc:
            raise error(f"{source}: cannot read ({exc.strerror or exc})") from None
        if not chunk:
            break
        total += len(chunk)
        if total > limit:
            raise error(f"{source}: more than {_size_text(limit)}{too_large}")
        buffer.write(chunk)
    return buffer.getvalue()


def _read_stdin(source: str, limit: int, error: type[EmstudioError]) -> bytes:
    stream = sys.stdin
    try:
        fd = stream.fileno() if stream is not None else -1
    except (OSError, ValueError, AttributeError):
        fd = -1
    if fd < 0:
        raise error(f"{source}: there is no standard input to read")
    if os.isatty(fd):
        raise error(f"{source}: standard input is a terminal; send the data through a pipe "
                    "(cat data.csv | emstudio fit -) or give the file's name")
    return _read_all(fd, source, limit, error, _STREAM_TOO_LARGE)
