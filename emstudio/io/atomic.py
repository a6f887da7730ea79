"""Atomic file writes: write a temporary file beside the target, then rename it over the target.

A failed or interrupted write leaves the old file intact; readers never see half a file.

Only a regular file (or a path that does not exist yet) is replaced that way, at the end of its
symbolic links (the links stay links). A character device or a FIFO that exists is written in
place, as the shell's ``>`` does (``--out /dev/null``, ``--out /dev/stdout``): renaming a file over
it would replace the device node. A block device, a socket or a folder is refused.

:func:`write_files_atomically` writes several files as a group: every temporary is written
first, and only when all of them are complete are they renamed, so a failure (a full disk)
leaves every target as it was.

A writer killed between writing and renaming leaves its temporary (``.NAME.XXXXXXXX.tmp``)
behind. Each write removes such leftovers of ours from the folder it writes to: a writer holds
an exclusive lock (flock) on its temporary until it is renamed, and the lock dies with the
process, so an old temporary that can be locked has no live writer.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from emstudio.errors import EmstudioError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: no locks, so no cleaning of leftovers
    fcntl = None

# Read once at import: os.umask can only be read by setting it, which races with other threads.
_UMASK = os.umask(0o022)
os.umask(_UMASK)

#: A temporary of ours this old (by its last change) with no live writer is a leftover.
STALE_TEMPORARY_SECONDS = 10 * 60
# tempfile.mkstemp's names: prefix, 8 characters of its alphabet, suffix.
_TEMPORARY = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_NOCTTY = getattr(os, "O_NOCTTY", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


@dataclass(frozen=True)
class _Target:
    shown: str  # the path as given, for messages
    final: str  # where the file ends up: the path at the end of its links
    in_place: bool  # an existing character device or FIFO: written through, never replaced
    mode: int | None  # permissions of the regular file being replaced (kept), None for a new one
    owner: tuple[int, int] | None


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (same-directory temporary file, fsync, rename)."""
    write_files_atomically([(path, data)])


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode(encoding))


def write_files_atomically(files: Sequence[tuple[str | os.PathLike, bytes]]) -> None:
    """Write several files as a group: all of them, or (on an error) none of them.

    Every regular target's temporary is written and synced first; devices and FIFOs are
    written next (they cannot be staged); only then are the temporaries renamed over their
    targets. An error before the renames leaves every regular target untouched.
    """
    targets = [check_output_path(path) for path, _ in files]
    finals = [t.final for t in targets if not t.in_place]
    if len(set(finals)) < len(finals):
        raise EmstudioError("the same file is named twice among the outputs")
    staged: list[tuple[int, str, _Target]] = []  # (locked descriptor, temporary, target)
    renamed = 0
    try:
        cleaned: set[str] = set()
        for target, (_, data) in zip(targets, files):
            if target.in_place:
                continue
            folder = os.path.dirname(target.final) or "."
            if folder not in cleaned:
                cleaned.add(folder)
                remove_stale_temporaries(folder)
            staged.append(_stage(target, data))
        for target, (_, data) in zip(targets, files):
            if target.in_place:
                _write_in_place(target, data)
        for _, tmp_name, target in staged:
            try:
                os.replace(tmp_name, target.final)
            except OSError as exc:
                raise EmstudioError(f"cannot write {target.shown}: {exc.strerror or exc}") from None
            renamed += 1
    finally:
        for i, (fd, tmp_name, _) in enumerate(staged):
            if i >= renamed:
                try:
                    os.unlink(tmp_name)
                except OSError:
                    pass
            os.close(fd)  # the lock is held until the temporary is renamed or removed


class StagedFile:
    """A file written in parts that appears whole or not at all: each :meth:`write` appends to a
    locked temporary beside ``path``; :meth:`commit` syncs it and renames it over ``path``;
    leaving the ``with`` block without committing (an error, Ctrl+C) removes the temporary. For
    output too large to hold in memory at once (a labels file of many millions of rows). A device
    or FIFO is written through part by part, as :func:`write_files_atomically` writes it whole."""

    def __init__(self, path: str | os.PathLike):
        self.target = check_output_path(path)
        self._done = False
        if self.target.in_place:
            self._fd, self._tmp = _open_in_place(self.target), None
            return
        remove_stale_temporaries(os.path.dirname(self.target.final) or ".")
        self._fd, self._tmp, _ = _stage(self.target, b"")

    def write(self, data: bytes) -> None:
        if self._tmp is None:
            _write_in_place_fd(self.target, self._fd, data)
            return
        try:
            _write_all(self._fd, data)
        except OSError as exc:
            raise EmstudioError(f"cannot write {self.target.shown}: {exc.strerror or exc}") from None

    def commit(self) -> None:
        """Make the file whole at ``path`` (the old file, if any, replaced)."""
        if self._tmp is not None:
            try:
                os.fsync(self._fd)
                os.replace(self._tmp, self.target.final)
            except OSError as exc:
                raise EmstudioError(f"cannot write {self.target.shown}: {exc.strerror or exc}") from None
            self._tmp = None
        self._close()

    def _close(self) -> None:
        if not self._done:
            self._done = True
            if self._tmp is not None:
                try:
                    os.unlink(self._tmp)
                except OSError:
                    pass
            os.close(self._fd)  # the lock is held until the temporary is renamed or removed

    def __enter__(self) -> "StagedFile":
        return self

    def __exit__(self, *exc) -> None:
        self._close()


def check_output_path(path: str | os.PathLike) -> _Target:
    """Where and how ``path`` will be written, or EmstudioError with one line saying why not.

    Writes nothing; used before a long fit so that a bad output is refused at once.
    """
    shown = os.fsdecode(path)
    try:
        info = os.stat(shown)
    except FileNotFoundError:
        info = None
    except (OSError, ValueError) as exc:
        raise EmstudioError(f"cannot write {shown}: {_why(exc)}") from None
    if info is None or stat.S_ISREG(info.st_mode):
        final = os.path.realpath(shown)  # replace the file a link points at, not the link
        folder = os.path.dirname(final) or "."
        if not os.path.isdir(folder):
            raise EmstudioError(f"cannot write {shown}: directory {folder} does not exist")
        if not os.access(folder, os.W_OK):
            raise EmstudioError(f"cannot write {shown}: directory {folder} is not writable")
        if info is None:
            return _Target(shown, final, False, None, None)
        return _Target(shown, final, False, stat.S_IMODE(info.st_mode), (info.st_uid, info.st_gid))
    mode = info.st_mode
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        if not os.access(shown, os.W_OK):
            raise EmstudioError(f"cannot write {shown}: permission denied")
        return _Target(shown, shown, True, None, None)
    if stat.S_ISDIR(mode):
        raise EmstudioError(f"cannot write {shown}: it is a directory")
    if stat.S_ISBLK(mode):
        raise EmstudioError(f"refusing to write {shown}: it is a block device (a disk or a partition)")
    if stat.S_ISSOCK(mode):
        raise EmstudioError(f"cannot write {shown}: it is a socket, not a file")
    raise EmstudioError(f"cannot write {shown}: it is not a regular file")


def refuse_overwriting_inputs(output: str | os.PathLike, inputs: list[str | os.PathLike]) -> None:
    """Raise if ``output`` names the same file as any of ``inputs`` (the data must never be lost)."""
    out = Path(output)
    for item in inputs:
        src = Path(item)
        same = False
        try:
            same = out.exists() and src.exists() and os.path.samefile(out, src)
        except OSError:
            same = False
        if same or out.resolve() == src.resolve():
            raise EmstudioError(f"refusing to write {out}: it is the input data file {src}")


def remove_stale_temporaries(folder: str | os.PathLike) -> list[str]:
    """Remove our leftover temporaries in ``folder``; returns the names removed.

    A leftover is a regular file named like our temporaries, owned by this user, unchanged for
    STALE_TEMPORARY_SECONDS, and not locked: a live writer holds the lock on its temporary
    until it is renamed, and a killed writer's lock died with it. Never raises.
    """
    if fcntl is None:
        return []
    removed = []
    too_old = time.time() - STALE_TEMPORARY_SECONDS
    uid = os.geteuid()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        if not (entry.name.startswith(".") and entry.name.endswith(".tmp") and _TEMPORARY.match(entry.name)):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != uid or info.st_mtime > too_old:
                continue
            fd = os.open(entry.path, os.O_RDONLY | _O_NOFOLLOW | _O_NONBLOCK | _O_CLOEXEC)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a live writer holds it
            now = os.fstat(fd)
            if (now.st_dev, now.st_ino) == (info.st_dev, info.st_ino):
                os.unlink(entry.path)
                removed.append(entry.name)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


def _stage(target: _Target, data: bytes) -> tuple[int, str, _Target]:
    """Write ``data`` to a locked, synced temporary beside ``target.final``."""
    folder = os.path.dirname(target.final) or "."
    name = os.path.basename(target.final)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise EmstudioError(f"cannot write {target.shown}: {exc.strerror or exc}") from None
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # "a live writer": see the module's text
            except OSError:
                pass  # a file system without locks: the age alone then protects it
        _write_all(fd, data)
        os.fsync(fd)
        # mkstemp makes the file 0600: give it the replaced file's permissions (and owner, if
        # we may), or the usual permissions of a new file.
        os.chmod(tmp_name, target.mode if target.mode is not None else 0o666 & ~_UMASK)
        if target.owner is not None and hasattr(os, "chown"):
            try:
                os.chown(tmp_name, *target.owner)
            except OSError:
                pass
    except OSError as exc:
        os.close(fd)
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise EmstudioError(f"cannot write {target.shown}: {exc.strerror or exc}") from None
    except BaseException:
        os.close(fd)
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise
    return fd, tmp_name, target


def _write_in_place(target: _Target, data: bytes) -> None:
    """Write through an existing character device or FIFO (nothing is renamed or truncated)."""
    fd = _open_in_place(target)
    try:
        _write_in_place_fd(target, fd, data)
    finally:
        os.close(fd)


def _open_in_place(target: _Target) -> int:
    """Open an existing character device or FIFO for writing. Opened without blocking: a FIFO
    that no program reads is refused instead of waiting."""
    try:
        fd = os.open(target.shown, os.O_WRONLY | _O_NONBLOCK | _O_NOCTTY | _O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise EmstudioError(f"cannot write {target.shown}: it is a named pipe (FIFO) that no "
                                "program is reading") from None
        raise EmstudioError(f"cannot write {target.shown}: {_why(exc)}") from None
    try:
        os.set_blocking(fd, True)
    except OSError:
        pass
    return fd


def _write_in_place_fd(target: _Target, fd: int, data: bytes) -> None:
    try:
        _write_all(fd, data)
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            raise EmstudioError(f"cannot write {target.shown}: the program reading it stopped") from None
        raise EmstudioError(f"cannot write {target.shown}: {exc.strerror or exc}") from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view[: 1 << 26])
        view = view[written:]


def _why(exc: BaseException) -> str:
    code = getattr(exc, "errno", None)
    if code == errno.ELOOP:
        return "a symbolic link loop (following its links never reaches a file)"
    if code in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if code == errno.ENOTDIR:
        return "a part of the path is not a folder"
    if isinstance(exc, ValueError):
        return "not a valid file name"
    return getattr(exc, "strerror", None) or str(exc)
