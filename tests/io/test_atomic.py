"""Atomic writes against hostile output paths (issue 10, items 1, 12 and 13): devices and FIFOs are
written in place, never replaced; several files are written as a group; leftovers of killed
writers are cleaned. Device nodes are private ones made here, never the system's."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from emstudio.errors import EmstudioError
from emstudio.io import atomic
from emstudio.io.atomic import (
    atomic_write_text,
    remove_stale_temporaries,
    write_files_atomically,
)


def make_node(path, kind: int, major: int, minor: int) -> str:
    try:
        os.mknod(path, 0o600 | kind, os.makedev(major, minor))
    except (OSError, AttributeError):
        pytest.skip("mknod is not permitted here")
    return str(path)


def temporaries(folder) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.endswith(".tmp"))


# ---------------------------------------------------------------- item 1: never replace a device
def test_character_device_is_written_in_place(tmp_path):
    node = make_node(tmp_path / "null", stat.S_IFCHR, 1, 3)  # a private /dev/null
    before = os.lstat(node)
    atomic_write_text(node, '{"a": 1}\n')
    after = os.lstat(node)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino
    assert temporaries(tmp_path) == []


def test_full_device_says_so_and_stays(tmp_path):
    node = make_node(tmp_path / "full", stat.S_IFCHR, 1, 7)  # a private /dev/full
    with pytest.raises(EmstudioError, match="cannot write .*full: No space left on device"):
        atomic_write_text(node, "x" * 10)
    assert stat.S_ISCHR(os.lstat(node).st_mode)


def test_block_device_is_refused(tmp_path):
    node = make_node(tmp_path / "disk", stat.S_IFBLK, 7, 0)
    with pytest.raises(EmstudioError, match="refusing to write .*disk: it is a block device"):
        atomic_write_text(node, "x")
    assert stat.S_ISBLK(os.lstat(node).st_mode)


def test_fifo_with_a_reader_gets_the_bytes(tmp_path):
    fifo = str(tmp_path / "out.fifo")
    os.mkfifo(fifo)
    got = []

    def read() -> None:
        with open(fifo, "rb") as f:
            got.append(f.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    # The reader's open() waits for the writer and the writer's open needs a reader: retry the
    # write until the reader is there (a FIFO without one is refused, never waited on).
    for _ in range(1000):
        try:
            atomic_write_text(fifo, "hello\n")
            break
        except EmstudioError as exc:
            assert "no program is reading" in str(exc)
            reader.join(0.01)
    reader.join(10)
    assert got == [b"hello\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_fifo_without_a_reader_is_refused_not_waited_on(tmp_path):
    fifo = str(tmp_path / "out.fifo")
    os.mkfifo(fifo)
    with pytest.raises(EmstudioError, match="a named pipe \\(FIFO\\) that no program is reading"):
        atomic_write_text(fifo, "x")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_symbolic_link_stays_a_link_and_the_file_keeps_its_permissions(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    os.chmod(real, 0o640)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    atomic_write_text(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o640


def test_symbolic_link_loop_says_so(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.symlink_to(b)
    b.symlink_to(a)
    with pytest.raises(EmstudioError, match="symbolic link loop"):
        atomic_write_text(a, "x")


# ---------------------------------------------------------------- item 12: a group, all or none
def test_group_write_leaves_every_target_when_one_fails(tmp_path, monkeypatch):
    first, second = tmp_path / "result.json", tmp_path / "labels.csv"
    first.write_text("old result")
    second.write_text("old labels")
    real_fsync, calls = os.fsync, []

    def fsync_fails_second(fd):
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_fails_second)
    with pytest.raises(EmstudioError, match="cannot write .*labels.csv: No space left on device"):
        write_files_atomically([(first, b"new result"), (second, b"new labels")])
    assert first.read_text() == "old result" and second.read_text() == "old labels"
    assert temporaries(tmp_path) == []
    monkeypatch.undo()
    write_files_atomically([(first, b"new result"), (second, b"new labels")])
    assert first.read_text() == "new result" and second.read_text() == "new labels"


def test_group_write_refuses_a_bad_target_before_writing_any(tmp_path):
    first = tmp_path / "result.json"
    first.write_text("old")
    with pytest.raises(EmstudioError, match="does not exist"):
        write_files_atomically([(first, b"new"), (tmp_path / "no" / "labels.csv", b"x")])
    assert first.read_text() == "old"


# ---------------------------------------------------------------- item 13: leftovers of killed writers
def test_stale_temporaries_of_ours_are_removed_on_the_next_write(tmp_path):
    import fcntl

    old = atomic.STALE_TEMPORARY_SECONDS + 60

    def leftover(name: str, age: float) -> str:
        path = tmp_path / name
        path.write_bytes(b"x" * 1000)
        t = os.path.getmtime(path) - age
        os.utime(path, (t, t))
        return str(path)

    stale = leftover(".labels.csv.ab12_xyz.tmp", old)
    young = leftover(".labels.csv.cd34efgh.tmp", 0)  # a writer may be filling it now
    held = leftover(".result.json.ij56klmn.tmp", old)  # a live (slow) writer holds its lock
    unrelated = leftover("notes.tmp", old)
    kept_ones = [young, held, unrelated]
    if os.geteuid() == 0:  # only root can give a file away (./test also runs as a normal user)
        foreign = leftover(".other.q1w2e3r4.tmp", old)  # someone else's
        os.chown(foreign, 54321, 54321)
        kept_ones.append(foreign)
    fd = os.open(held, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        atomic_write_text(tmp_path / "labels.csv", "new")
    finally:
        os.close(fd)
    left = set(os.listdir(tmp_path))
    assert os.path.basename(stale) not in left
    for kept in kept_ones:
        assert os.path.basename(kept) in left
    assert (tmp_path / "labels.csv").read_text() == "new"
    assert remove_stale_temporaries(tmp_path) == [os.path.basename(held)]  # its writer is gone now


def test_a_staged_file_appears_whole_on_commit_and_not_at_all_on_an_error(tmp_path):
    from emstudio.io.atomic import StagedFile

    path = tmp_path / "labels.csv"
    path.write_text("old\n")
    with StagedFile(path) as staged:
        staged.write(b"row,a\n")
        staged.write(b"1,2\n")
        assert path.read_text() == "old\n"  # nothing replaced before the commit
        staged.commit()
    assert path.read_text() == "row,a\n1,2\n"
    with pytest.raises(KeyboardInterrupt):
        with StagedFile(path) as staged:
            staged.write(b"half")
            raise KeyboardInterrupt
    assert path.read_text() == "row,a\n1,2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.csv"]  # no temporary left
