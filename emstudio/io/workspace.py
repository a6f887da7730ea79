"""The workspace file (``*.emstudio``): the container, written atomically and read with every
part checked. No Qt: what goes into the document is the window's business (gui/workspace_codec.py).

A workspace is a ZIP archive (docs/formats.md, "Workspace file") holding

    workspace.json       the document: {"format": "emstudio.workspace", "version": 1, ...}
    arrays/<name>.npy    numeric arrays (NumPy's format, read without pickles); the document
                         refers to slices of them (:class:`ArrayPacker`)
    data/<file name>     the data file's own bytes, when it is embedded

Arrays and the data are stored uncompressed (they are read back as they are, and compressing
numbers saves little); the document is deflated. Every failure to read is one
:class:`~emstudio.errors.WorkspaceError` naming the file.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import threading
import zipfile
from dataclasses import dataclass

import numpy as np

from emstudio.errors import WorkspaceError
from emstudio.io.atomic import atomic_write_bytes

FORMAT = "emstudio.workspace"
VERSION = 1
SUFFIX = ".emstudio"
DOCUMENT = "workspace.json"
ARRAY_FOLDER = "arrays/"
DATA_FOLDER = "data/"
#: A data file up to this size is embedded in the workspace unless the person says otherwise.
EMBED_LIMIT_BYTES = 50_000_000
#: A member larger than this (unpacked) is refused before it is read: no file of ours has one, and
#: a damaged or hostile archive could claim any size.
MAX_MEMBER_BYTES = 4 << 30
#: The pools of :class:`ArrayPacker`, by the dtype they hold.
POOL_DTYPES = {"f8": np.float64, "i8": np.int64, "b1": np.bool_}


@dataclass(frozen=True)
class WorkspaceFile:
    """What a workspace file holds: the document, its arrays by name, and the embedded data file
    (its name and bytes) if there is one."""

    document: dict
    arrays: dict[str, np.ndarray]
    data_name: str | None = None
    data_bytes: bytes | None = None


def write_workspace(path: str | os.PathLike, workspace: WorkspaceFile) -> None:
    """Write ``workspace`` to ``path`` atomically (the old file stays whole if anything fails)."""
    atomic_write_bytes(path, workspace_bytes(workspace))


def workspace_bytes(workspace: WorkspaceFile) -> bytes:
    """The bytes of the workspace file (a ZIP archive)."""
    document = dict(workspace.document)
    document["format"], document["version"] = FORMAT, VERSION
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        archive.writestr(zipfile.ZipInfo(DOCUMENT, date_time=(1980, 1, 1, 0, 0, 0)),
                         json.dumps(document, separators=(",", ":")).encode("utf-8"),
                         compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
        for name, array in workspace.arrays.items():
            member = io.BytesIO()
            np.save(member, np.ascontiguousarray(array), allow_pickle=False)
            archive.writestr(_info(ARRAY_FOLDER + name + ".npy"), member.getbuffer())
        if workspace.data_bytes is not None:
            archive.writestr(_info(DATA_FOLDER + _plain_name(workspace.data_name or "data")), workspace.data_bytes)
    return buffer.getvalue()


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    return info


def _plain_name(name: str) -> str:
    """A file name without folders (the data's name inside the archive)."""
    plain = os.path.basename(name.replace("\\", "/")).strip()
    return plain if plain not in ("", ".", "..") else "data"


def read_workspace(path: str | os.PathLike) -> WorkspaceFile:
    """Read and check a workspace file: WorkspaceError (one line) if it is not one, is damaged or
    truncated, or was written by a newer version."""
    shown = os.path.basename(os.fsdecode(path))
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise WorkspaceError(f"{shown} is not a workspace file (not a regular file)")
            return _read_archive(handle, shown)
    except WorkspaceError:
        raise
    except FileNotFoundError:
        raise WorkspaceError(f"{shown} does not exist") from None
    except IsADirectoryError:
        raise WorkspaceError(f"{shown} is a folder, not a workspace file") from None
    except PermissionError:
        raise WorkspaceError(f"{shown} cannot be read: permission denied") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, KeyError,
            NotImplementedError, RuntimeError) as exc:
        # A member that ends early, a checksum that does not match, a bad header...
        raise WorkspaceError(f"{shown} is damaged or incomplete ({_why(exc)})") from None


def _why(exc: BaseException) -> str:
    text = str(exc).strip().rstrip(".")
    return text if text else type(exc).__name__


def _read_archive(handle, shown: str) -> WorkspaceFile:
    if not zipfile.is_zipfile(handle):
        handle.seek(0)
        head = handle.read(4)
        what = "it is empty" if not head else "not an EM Studio workspace, or a truncated one"
        raise WorkspaceError(f"{shown} cannot be opened as a workspace: {what}")
    handle.seek(0)
    with zipfile.ZipFile(handle) as archive:
        members = {info.filename: info for info in archive.infolist()}
        if DOCUMENT not in members:
            raise WorkspaceError(f"{shown} is not an EM Studio workspace (no {DOCUMENT} in it)")
        for info in members.values():
            if info.file_size > MAX_MEMBER_BYTES:
                raise WorkspaceError(f"{shown} is damaged: its member {info.filename} claims "
                                     f"{info.file_size:,} bytes")
        document = _read_document(archive.read(DOCUMENT), shown)
        arrays: dict[str, np.ndarray] = {}
        data_name = data_bytes = None
        for name in members:
            if name.startswith(ARRAY_FOLDER) and name.endswith(".npy"):
                arrays[name[len(ARRAY_FOLDER):-4]] = _read_array(archive.read(name), name, shown)
            elif name.startswith(DATA_FOLDER) and len(name) > len(DATA_FOLDER):
                if data_bytes is not None:
                    raise WorkspaceError(f"{shown} is damaged: it embeds two data files")
                data_name, data_bytes = name[len(DATA_FOLDER):], archive.read(name)
    return WorkspaceFile(document, arrays, data_name, data_bytes)


def _read_document(raw: bytes, shown: str) -> dict:
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WorkspaceError(f"{shown} is damaged: its {DOCUMENT} is not JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise WorkspaceError(f"{shown} is not an EM Studio workspace (its {DOCUMENT} names no format "
                             f"{FORMAT!r})")
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise WorkspaceError(f"{shown} is damaged: its workspace version is {version!r}")
    if version > VERSION:
        raise WorkspaceError(f"{shown} was written by a newer EM Studio (workspace version {version}; "
                             f"this one reads version {VERSION}): update EM Studio to open it")
    return document


def _read_array(raw: bytes, name: str, shown: str) -> np.ndarray:
    try:
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise WorkspaceError(f"{shown} is damaged: {name} is not a NumPy array ({_why(exc)})") from None
    if not isinstance(array, np.ndarray) or array.dtype.hasobject:
        raise WorkspaceError(f"{shown} is damaged: {name} is not a numeric array")
    array.setflags(write=False)
    return array


# ---------------------------------------------------------------------- arrays in few members
class ArrayPacker:
    """Many small arrays (every history entry's parameters) packed into one flat array per dtype.

    ``add(array)`` returns the reference the document keeps, ``[pool, offset, shape]``;
    ``arrays()`` gives the pools to write (``pool_f8``, ``pool_i8``, ``pool_b1``).
    """

    def __init__(self) -> None:
        self._parts: dict[str, list[np.ndarray]] = {kind: [] for kind in POOL_DTYPES}
        self._sizes = dict.fromkeys(POOL_DTYPES, 0)

    def add(self, array) -> list | None:
        if array is None:
            return None
        array = np.asarray(array)
        if array.dtype == np.bool_:
            kind = "b1"
        elif np.issubdtype(array.dtype, np.integer):
            kind = "i8"
        else:
            kind = "f8"
        flat = np.ravel(array).astype(POOL_DTYPES[kind], copy=False)
        offset = self._sizes[kind]
        self._parts[kind].append(flat)
        self._sizes[kind] += flat.size
        return [kind, offset, [int(n) for n in array.shape]]

    def arrays(self) -> dict[str, np.ndarray]:
        return {f"pool_{kind}": (np.concatenate(parts) if parts else np.empty(0, POOL_DTYPES[kind]))
                for kind, parts in self._parts.items()}


class ArrayUnpacker:
    """The arrays of :class:`ArrayPacker`'s references, checked (WorkspaceError when a reference
    does not fit its pool)."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self._pools = {}
        for kind, dtype in POOL_DTYPES.items():
            pool = arrays.get(f"pool_{kind}", np.empty(0, dtype))
            if pool.ndim != 1 or pool.dtype != dtype:
                raise WorkspaceError(f"the workspace's pool_{kind} array is not a flat {np.dtype(dtype).name} array")
            self._pools[kind] = pool

    def get(self, ref, ndim: int | None = None) -> np.ndarray | None:
        """The array of ``ref`` (a read-only view of its pool); ``ndim``: how many dimensions it
        must have. None for a null reference."""
        if ref is None:
            return None
        try:
            kind, offset, shape = ref
            pool = self._pools[kind]
            shape = tuple(int(n) for n in shape)
            offset = int(offset)
        except (TypeError, ValueError, KeyError):
            raise WorkspaceError(f"an array reference of the workspace is damaged: {ref!r}") from None
        size = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if offset < 0 or any(n < 0 for n in shape) or offset + size > pool.size:
            raise WorkspaceError(f"an array reference of the workspace points outside its data: {ref!r}")
        if ndim is not None and len(shape) != ndim:
            raise WorkspaceError(f"an array of the workspace has {len(shape)} dimensions, not {ndim}")
        return pool[offset:offset + size].reshape(shape)


# ---------------------------------------------------------------------- the data file's identity
_digests: dict[tuple[str, int, int], str] = {}
_digests_lock = threading.Lock()


def file_digest(path: str | os.PathLike) -> tuple[int, str]:
    """(size in bytes, SHA-256 in hex) of a regular file. Remembered by (path, size, time of last
    change), so that saving a workspace again does not read a large data file again. Raises
    OSError when it cannot be read, ValueError when it is not a regular file."""
    real = os.path.realpath(os.fsdecode(path))
    info = os.stat(real)
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{os.path.basename(real)} is not a regular file")
    key = (real, info.st_size, info.st_mtime_ns)
    with _digests_lock:
        known = _digests.get(key)
    if known is not None:
        return info.st_size, known
    digest = hashlib.sha256()
    with open(real, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    value = digest.hexdigest()
    with _digests_lock:
        _digests[key] = value
    return info.st_size, value


def bytes_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
