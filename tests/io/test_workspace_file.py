"""The workspace file's container and the core values in it (no display): written atomically,
read back equal; anything not a workspace of ours, damaged, truncated or from a newer version is
one WorkspaceError line."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import numpy as np
import pytest

from emstudio.core.em import FitSettings
from emstudio.core.factor import FactorParams, FactorSettings
from emstudio.core.params import make_params
from emstudio.core.selection import Cell, Selection
from emstudio.errors import WorkspaceError
from emstudio.io.workspace import (
    FORMAT, VERSION, ArrayPacker, ArrayUnpacker, WorkspaceFile, file_digest, read_workspace, write_workspace,
)
from emstudio.io.workspace_values import (
    decode_factor, decode_factor_settings, decode_params, decode_selection, decode_settings, encode_factor,
    encode_factor_settings, encode_params, encode_selection, encode_settings,
)


def _workspace(**document) -> WorkspaceFile:
    pack = ArrayPacker()
    document.setdefault("a", pack.add(np.arange(6.0).reshape(2, 3)))
    document.setdefault("flags", pack.add(np.array([True, False])))
    return WorkspaceFile(document, pack.arrays(), "data.csv", b"x,y\n1,2\n")


def test_written_and_read_back(tmp_path):
    path = tmp_path / "w.emstudio"
    write_workspace(path, _workspace(note="héllo", nan=float("nan")))
    read = read_workspace(path)
    assert read.document["format"] == FORMAT and read.document["version"] == VERSION
    assert read.document["note"] == "héllo" and np.isnan(read.document["nan"])
    unpack = ArrayUnpacker(read.arrays)
    assert np.array_equal(unpack.get(read.document["a"], 2), np.arange(6.0).reshape(2, 3))
    assert unpack.get(read.document["flags"]).tolist() == [True, False]
    assert (read.data_name, read.data_bytes) == ("data.csv", b"x,y\n1,2\n")
    with zipfile.ZipFile(path) as archive:  # arrays and data stored as they are
        kinds = {i.filename: i.compress_type for i in archive.infolist()}
    assert kinds["arrays/pool_f8.npy"] == zipfile.ZIP_STORED and kinds["data/data.csv"] == zipfile.ZIP_STORED


def test_many_arrays_go_into_few_members(tmp_path):
    pack = ArrayPacker()
    refs = [pack.add(np.full((3, 2), i, float)) for i in range(1000)]
    path = tmp_path / "w.emstudio"
    write_workspace(path, WorkspaceFile({"refs": refs}, pack.arrays()))
    with zipfile.ZipFile(path) as archive:
        assert len(archive.namelist()) == 1 + 3  # the document and one pool per dtype
    read = read_workspace(path)
    unpack = ArrayUnpacker(read.arrays)
    assert all(np.all(unpack.get(r) == i) for i, r in enumerate(read.document["refs"]))


def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "w.emstudio"
    write_workspace(path, _workspace(generation=1))
    import emstudio.io.atomic as atomic

    def broken(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic, "_write_all", broken)
    with pytest.raises(Exception):
        write_workspace(path, _workspace(generation=2))
    assert read_workspace(path).document["generation"] == 1


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _document(**changes) -> bytes:
    return json.dumps({"format": FORMAT, "version": VERSION, **changes}).encode()


@pytest.mark.parametrize("contents, words", [
    (b"", "it is empty"),
    (b"x,y\n1,2\n", "not an EM Studio workspace"),
    (_zip({"other.txt": b"hello"}), "no workspace.json"),
    (_zip({"workspace.json": b"{not json"}), "not JSON"),
    (_zip({"workspace.json": json.dumps({"format": "something.else", "version": 1}).encode()}), "names no format"),
    (_zip({"workspace.json": _document(version=99)}), "newer EM Studio"),
    (_zip({"workspace.json": _document(version="one")}), "version is 'one'"),
    (_zip({"workspace.json": _document(), "arrays/pool_f8.npy": b"not numpy"}), "not a NumPy array"),
])
def test_what_is_not_a_workspace_is_one_clear_line(tmp_path, contents, words):
    path = tmp_path / "bad.emstudio"
    path.write_bytes(contents)
    with pytest.raises(WorkspaceError) as caught:
        read_workspace(path)
    message = str(caught.value)
    assert words in message and "bad.emstudio" in message and "\n" not in message


def test_a_pickled_array_is_refused(tmp_path):
    member = io.BytesIO()
    np.save(member, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    path = tmp_path / "w.emstudio"
    path.write_bytes(_zip({"workspace.json": _document(), "arrays/pool_f8.npy": member.getvalue()}))
    with pytest.raises(WorkspaceError, match="damaged"):
        read_workspace(path)


@pytest.mark.parametrize("cut", [0.2, 0.5, 0.9, 0.99])
def test_a_truncated_file_is_one_clear_line(tmp_path, cut):
    path = tmp_path / "w.emstudio"
    write_workspace(path, _workspace(big=list(range(5000))))
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(WorkspaceError, match="w.emstudio"):
        read_workspace(path)


def test_a_flipped_byte_is_found(tmp_path):
    path = tmp_path / "w.emstudio"
    pack = ArrayPacker()
    ref = pack.add(np.arange(100_000.0))
    write_workspace(path, WorkspaceFile({"a": ref}, pack.arrays()))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the stored array: its CRC no longer matches
    path.write_bytes(bytes(data))
    with pytest.raises(WorkspaceError, match="damaged"):
        read_workspace(path)


def test_missing_and_folder_paths(tmp_path):
    with pytest.raises(WorkspaceError, match="does not exist"):
        read_workspace(tmp_path / "none.emstudio")
    with pytest.raises(WorkspaceError, match="folder"):
        read_workspace(tmp_path)


def test_references_outside_their_pool_are_refused():
    pack = ArrayPacker()
    pack.add(np.zeros(4))
    unpack = ArrayUnpacker(pack.arrays())
    for ref in (["f8", 2, [3]], ["f8", -1, [1]], ["c16", 0, [1]], "nonsense", ["f8", 0, [-1]]):
        with pytest.raises(WorkspaceError):
            unpack.get(ref)
    with pytest.raises(WorkspaceError, match="dimensions"):
        unpack.get(["f8", 0, [2, 2]], 1)


def test_file_digest(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"x\n1\n")
    size, digest = file_digest(path)
    assert size == 4 and digest == hashlib.sha256(b"x\n1\n").hexdigest()
    path.write_bytes(b"x\n2\n")  # same size, new contents (and a new time of change)
    assert file_digest(path)[1] != digest


# ---------------------------------------------------------------------- the core's values
def _roundtrip(encode, decode, value, *args):
    pack = ArrayPacker()
    entry = json.loads(json.dumps(encode(value, pack)))
    return decode(entry, ArrayUnpacker(pack.arrays()), *args)


@pytest.mark.parametrize("covariance_type, covariances", [
    ("full", np.stack([np.eye(2), 2 * np.eye(2)])), ("diag", np.array([[1.0, 2.0], [3.0, 4.0]])),
    ("spherical", np.array([1.0, 2.0])), ("tied", np.eye(2)),
])
def test_params_round_trip(covariance_type, covariances):
    params = make_params([0.25, 0.75], [[0.0, 1.0], [2.0, 3.0]], covariances, covariance_type)
    back = _roundtrip(encode_params, decode_params, params, 2)
    assert back.covariance_type == covariance_type
    for name in ("weights", "means", "covariances"):
        assert np.array_equal(getattr(back, name), getattr(params, name))
    with pytest.raises(WorkspaceError, match="means"):
        _roundtrip(encode_params, decode_params, params, 3)  # saved for d = 2, the data has 3


def test_settings_round_trip():
    start = make_params([0.5, 0.5], [[0.0], [1.0]], np.array([1.0, 1.0]), "spherical")
    for settings in (FitSettings(k=3, covariance_type="VEV", seed=7, restarts=4, tol=0.0, reg_covar=1e-3),
                     FitSettings(k=2, init=start)):
        back = _roundtrip(encode_settings, decode_settings, settings)
        assert back.k == settings.k and back.covariance_type == settings.covariance_type
        assert back.seed == settings.seed and back.tol == settings.tol and back.restarts == settings.restarts
        assert isinstance(back.init, str) == isinstance(settings.init, str)
    factor = FactorParams(np.array([1.0]), np.zeros((1, 3)), np.ones((1, 3, 1)), np.ones((1, 3)))
    for settings in (FactorSettings(k=2, n_factors=1, psi="per-component"), FactorSettings(init=factor)):
        back = _roundtrip(encode_factor_settings, decode_factor_settings, settings)
        assert (back.k, back.n_factors, back.psi) == (settings.k, settings.n_factors, settings.psi)
    back = _roundtrip(encode_factor, decode_factor, factor)
    assert np.array_equal(back.loadings, factor.loadings)


def test_damaged_settings_are_one_line():
    pack = ArrayPacker()
    entry = encode_settings(FitSettings(), pack)
    entry["restarts"] = 0
    with pytest.raises(WorkspaceError, match="restarts"):
        decode_settings(entry, ArrayUnpacker(pack.arrays()))


def test_selection_round_trip():
    from emstudio.core.em import fit_mixture

    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (40, 2)), rng.normal(6, 1, (40, 2))])
    result = fit_mixture(X, FitSettings(k=2))
    cells = [Cell("full", 2, result, 1, 0), Cell("diag", 3, None, 1, 1, "collapsed")]
    selection = Selection("bic", tuple(cells), cells[0], {"spherical": "diag"})
    pack = ArrayPacker()
    entry = json.loads(json.dumps(encode_selection(cells, selection, pack)))
    back_cells, back = decode_selection(entry, ArrayUnpacker(pack.arrays()), 2)
    assert back.best is back_cells[0] and back.same_models == {"spherical": "diag"}
    assert back_cells[0].result.bic == pytest.approx(result.bic, rel=0, abs=0)
    assert back_cells[1].result is None and back_cells[1].error == "collapsed"
