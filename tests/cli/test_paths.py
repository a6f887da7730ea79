"""The command line against hostile paths (issue 10, items 1, 3, 10, 12, 13): devices and FIFOs as
outputs, pipes, FIFOs and standard input as DATA or --init, the --out/--labels pair, link loops.
Device nodes are private ones made in a temporary folder, never the system's."""

from __future__ import annotations

import json
import os
import resource
import signal
import stat
import subprocess
import sys
import threading

import numpy as np
import pytest

ROWS = np.random.default_rng(5).normal(size=(300, 2)) * [1.0, 10.0] + [0.0, 50.0]
CSV = ("a,b\n" + "".join(f"{float(x)!r},{float(y)!r}\n" for x, y in ROWS)).encode()


def run(*args, stdin=None, input=None, preexec_fn=None):
    out = subprocess.run([sys.executable, "-m", "emstudio", *map(str, args)], capture_output=True,
                         stdin=stdin, input=input, preexec_fn=preexec_fn, timeout=120)
    return out.returncode, out.stdout.decode(), out.stderr.decode()


def make_node(path, kind: int, major: int, minor: int) -> str:
    try:
        os.mknod(path, 0o600 | kind, os.makedev(major, minor))
    except (OSError, AttributeError):
        pytest.skip("mknod is not permitted here")
    return str(path)


def feed(fifo: str, data: bytes) -> threading.Thread:
    """A thread writing ``data`` into ``fifo`` (its open waits for the reader)."""
    def write() -> None:
        try:
            with open(fifo, "wb") as f:
                f.write(data)
        except OSError:
            pass

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(CSV)
    return path


# ---------------------------------------------------------------- item 1
def test_device_outputs_are_written_in_place(tmp_path, data_file):
    out = make_node(tmp_path / "out", stat.S_IFCHR, 1, 3)  # private /dev/null nodes
    labels = make_node(tmp_path / "labels", stat.S_IFCHR, 1, 3)
    code, _, err = run("fit", data_file, "--out", out, "--labels", labels, "-q")
    assert code == 0, err
    for node in (out, labels):
        assert stat.S_ISCHR(os.lstat(node).st_mode) and os.lstat(node).st_rdev == os.makedev(1, 3)


def test_plot_to_a_device_writes_in_place(tmp_path, data_file):
    picture = make_node(tmp_path / "picture.png", stat.S_IFCHR, 1, 3)
    code, _, err = run("plot", data_file, "--out", picture)
    assert code == 0, err
    assert stat.S_ISCHR(os.lstat(picture).st_mode)


def test_block_device_output_is_refused_before_the_fit(tmp_path, data_file):
    disk = make_node(tmp_path / "disk", stat.S_IFBLK, 7, 0)
    code, _, err = run("fit", data_file, "--out", disk, "-q")
    assert code == 1 and err.count("\n") == 1 and "block device" in err
    assert stat.S_ISBLK(os.lstat(disk).st_mode)


# ---------------------------------------------------------------- item 3
def test_standard_input_loses_no_rows(tmp_path, data_file):
    code, expected, err = run("fit", data_file, "--out", "-", "-q")
    assert code == 0, err
    expected = json.loads(expected)
    for name in ("-", "/dev/stdin"):
        code, out, err = run("fit", name, "--out", "-", "-q", input=CSV)
        assert code == 0, err
        got = json.loads(out)
        assert got["data"]["n_samples"] == len(ROWS) and f"{len(ROWS)} of {len(ROWS)} rows" in err
        assert got["means"] == expected["means"] and got["log_likelihood"] == expected["log_likelihood"]
    assert json.loads(run("fit", "-", "--out", "-", "-q", input=CSV)[1])["data"]["source"] == "standard input"


def test_standard_input_from_a_terminal_is_refused(tmp_path):
    try:
        leader, follower = os.openpty()
    except OSError:
        pytest.skip("no terminals here")
    try:
        code, _, err = run("fit", "-", stdin=follower)
    finally:
        os.close(leader)
        os.close(follower)
    assert code == 1 and "standard input is a terminal" in err


# ---------------------------------------------------------------- item 10
def test_fifo_as_data_is_read_once(tmp_path):
    fifo = str(tmp_path / "data.fifo")
    os.mkfifo(fifo)
    writer = feed(fifo, CSV)
    code, out, err = run("fit", fifo, "--out", "-", "-q")
    writer.join(10)
    assert code == 0, err
    assert json.loads(out)["data"]["n_samples"] == len(ROWS)


def test_fifo_as_init_is_read_once(tmp_path, data_file):
    result = tmp_path / "r.json"
    assert run("fit", data_file, "--out", result, "-q")[0] == 0
    fifo = str(tmp_path / "start.fifo")
    os.mkfifo(fifo)
    writer = feed(fifo, result.read_bytes())
    code, out, err = run("fit", data_file, "--init", fifo, "--out", "-", "-q")
    writer.join(10)
    assert code == 0, err
    assert json.loads(out)["settings"]["init"] == "file"


# ---------------------------------------------------------------- item 12
def test_out_and_labels_are_a_pair(tmp_path):
    data_file = tmp_path / "data.csv"
    data_file.write_bytes(CSV + CSV.split(b"\n", 1)[1] * 9)  # labels of 3000 rows: far larger than the result
    out, labels = tmp_path / "r.json", tmp_path / "labels.csv"
    out.write_text("old result")

    def small_files_only():  # as a full disk would: the result fits, the labels do not
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    code, _, err = run("fit", data_file, "--out", out, "--labels", labels, "--max-iter", "50", "-q",
                       preexec_fn=small_files_only)
    assert code == 1 and err.count("\n") == 2 and "cannot write" in err and "labels.csv" in err
    assert out.read_text() == "old result" and not labels.exists()
    assert [n for n in os.listdir(tmp_path) if n.endswith(".tmp")] == []


# ---------------------------------------------------------------- item 13
def test_symlink_loop_says_what_it_is(tmp_path, data_file):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.symlink_to(b)
    b.symlink_to(a)
    for args in (("fit", a), ("fit", data_file, "--init", a), ("fit", data_file, "--out", a)):
        code, _, err = run(*args, "-q")
        assert code == 1 and "symbolic link loop" in err and "no such file" not in err, args
