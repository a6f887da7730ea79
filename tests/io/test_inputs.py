"""Inputs that can be read only once (pipes, FIFOs, devices, standard input), and the messages of
paths that cannot be opened (issue 10, items 3, 10 and 13)."""

from __future__ import annotations

import builtins
import gzip
import io
import os
import stat
import threading

import numpy as np
import pytest

from emstudio.errors import DataError, EmstudioError
from emstudio.io import inputs
from emstudio.io.data import load_data
from emstudio.io.results import read_params_file

ROWS = np.random.default_rng(3).normal(size=(400, 2)) * [1.0, 10.0] + [0.0, 50.0]


def csv_bytes(rows=ROWS) -> bytes:
    lines = ["width,height"] + [f"{float(a)!r},{float(b)!r}" for a, b in rows]
    return ("\n".join(lines) + "\n").encode()


class Writer(threading.Thread):
    """Writes ``data`` to a path (a FIFO) or a file descriptor, then closes it; records a failure."""

    def __init__(self, target, data: bytes):
        super().__init__(daemon=True)
        self.target, self.data, self.error = target, data, None

    def run(self) -> None:
        try:
            if isinstance(self.target, int):
                with os.fdopen(self.target, "wb") as f:
                    f.write(self.data)
            else:
                with open(self.target, "wb") as f:  # blocks until the reader opens the FIFO
                    f.write(self.data)
        except OSError as exc:  # a reader that closed early (BrokenPipeError) lost bytes
            self.error = exc


def pipe_with(data: bytes) -> tuple[str, Writer]:
    """A pipe's read end as a path (as ``<(...)`` gives it) and a thread writing ``data`` into it."""
    r, w = os.pipe()
    writer = Writer(w, data)
    writer.start()
    return f"/dev/fd/{r}", writer


def make_fifo(tmp_path) -> str:
    path = str(tmp_path / "data.fifo")
    try:
        os.mkfifo(path)
    except (OSError, AttributeError):
        pytest.skip("no FIFOs here")
    return path


# ---------------------------------------------------------------- item 3: pipes lose no bytes
@pytest.mark.parametrize("kind", ["csv", "csv.gz", "npy"])
def test_pipe_is_read_once_and_whole(kind):
    if kind == "npy":
        buffer = io.BytesIO()
        np.save(buffer, ROWS)
        data = buffer.getvalue()
    else:
        data = csv_bytes() if kind == "csv" else gzip.compress(csv_bytes())
    path, writer = pipe_with(data)
    try:
        loaded = load_data(path)
    finally:
        os.close(int(path.rsplit("/", 1)[1]))
    writer.join(10)
    assert writer.error is None
    assert loaded.report.n_rows_read == len(ROWS) == loaded.values.shape[0]
    np.testing.assert_array_equal(loaded.values, ROWS)


def test_pipe_past_the_limit_is_refused(monkeypatch):
    monkeypatch.setattr(inputs, "STREAM_LIMIT_BYTES", 1000)
    path, writer = pipe_with(csv_bytes())
    try:
        with pytest.raises(DataError, match=r"more than 1000 bytes from a pipe.*save it to a file"):
            load_data(path)
    finally:
        os.close(int(path.rsplit("/", 1)[1]))
    writer.join(10)


def test_dash_means_standard_input(monkeypatch):
    r, w = os.pipe()
    writer = Writer(w, csv_bytes())
    writer.start()
    with os.fdopen(r, "r") as stream:
        monkeypatch.setattr("sys.stdin", stream)
        loaded = load_data("-")
    writer.join(10)
    assert loaded.report.source == "standard input"
    assert loaded.values.shape[0] == len(ROWS)


# ---------------------------------------------------------------- item 10: FIFOs open once
def test_fifo_with_a_writer_is_opened_once_and_read_whole(tmp_path, monkeypatch):
    fifo = make_fifo(tmp_path)
    opens = []
    real_os_open, real_open = os.open, builtins.open

    def count(how: str) -> None:
        opens.append(how)
        if len(opens) > 1:  # a second open would wait for a second writer: fail, never hang
            raise AssertionError(f"the FIFO was opened twice: {opens}")

    def counting_os_open(path, *args, **kwargs):
        if isinstance(path, (str, os.PathLike)) and os.fspath(path) == fifo:
            count("os.open")
        return real_os_open(path, *args, **kwargs)

    def counting_open(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and os.fspath(file) == fifo:
            count("open")
        return real_open(file, *args, **kwargs)

    writer = Writer(fifo, csv_bytes())
    writer.start()  # waits in open() until the loader opens the other end
    monkeypatch.setattr(os, "open", counting_os_open)
    monkeypatch.setattr(builtins, "open", counting_open)
    try:
        loaded = load_data(fifo, wait_for_writer=60)
    finally:
        monkeypatch.undo()
    writer.join(10)
    assert opens == ["os.open"]
    assert writer.error is None and not writer.is_alive()
    assert loaded.values.shape[0] == len(ROWS)


def test_fifo_without_a_writer_is_given_up_not_hung(tmp_path):
    fifo = make_fifo(tmp_path)
    with pytest.raises(DataError, match="a named pipe \\(FIFO\\) that no program writes to"):
        load_data(fifo, wait_for_writer=0.05)


def test_fifo_as_a_start_file(tmp_path):
    fifo = make_fifo(tmp_path)
    start = (b'{"weights": [0.5, 0.5], "means": [[0, 0], [1, 1]], '
             b'"covariances": [[[1, 0], [0, 1]], [[1, 0], [0, 1]]]}')
    writer = Writer(fifo, start)
    writer.start()
    params = read_params_file(fifo, "full")
    writer.join(10)
    assert writer.error is None
    np.testing.assert_array_equal(params.means, [[0, 0], [1, 1]])


def test_endless_device_as_a_start_file_is_refused(tmp_path, monkeypatch):
    import emstudio.io.results as results

    monkeypatch.setattr(results, "START_FILE_LIMIT_BYTES", 4096)
    path, writer = pipe_with(b" " * 100_000)  # stands for /dev/zero: more than the limit, any length
    try:
        with pytest.raises(EmstudioError, match="more than 4 KiB; a start file is read up to that size"):
            read_params_file(path, "full")
    finally:
        os.close(int(path.rsplit("/", 1)[1]))


def test_character_device_is_read_once(tmp_path):
    node = str(tmp_path / "zero")
    try:
        os.mknod(node, 0o600 | stat.S_IFCHR, os.makedev(1, 5))  # a private /dev/zero
    except (OSError, AttributeError):
        pytest.skip("mknod is not permitted here")
    with pytest.raises(DataError, match="the file holds binary data|more than"):
        load_data(node)


# ---------------------------------------------------------------- item 13: say what the path is
def test_symlink_loop_says_so(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.symlink_to(b)
    b.symlink_to(a)
    with pytest.raises(DataError) as info:
        load_data(str(a))
    assert str(info.value) == f"{a}: a symbolic link loop (following its links never reaches a file)"
    with pytest.raises(EmstudioError, match="symbolic link loop"):
        read_params_file(str(a), "full")
    assert "symbolic link loop" in inputs.path_problem(str(a))


def test_dangling_symlink_says_so(tmp_path):
    a = tmp_path / "a.csv"
    a.symlink_to(tmp_path / "gone.csv")
    with pytest.raises(DataError, match="a symbolic link to .*gone.csv.*, which does not exist"):
        load_data(str(a))


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DataError, match="no such file$"):
        load_data(str(tmp_path / "none.csv"))
    with pytest.raises(DataError, match="is a folder"):
        load_data(str(tmp_path))


def test_terminal_as_data_is_refused_not_read():
    try:
        leader, follower = os.openpty()
    except OSError:
        pytest.skip("no terminals here")
    try:
        with pytest.raises(DataError, match="a terminal, not a file to read"):
            load_data(os.ttyname(follower))
    finally:
        os.close(leader)
        os.close(follower)
