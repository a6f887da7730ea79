"""Hostile start files (issue 10, items 11 and 13): each is bad input, refused with one line."""

from __future__ import annotations

import codecs
import json

import pytest

from emstudio.errors import EmstudioError, ParameterError
from emstudio.io.results import MAX_START_COMPONENTS, parse_json_document, read_params_file

GOOD = {"weights": [0.5, 0.5], "means": [[0, 0], [3, 3]],
        "covariances": [[[1, 0], [0, 1]], [[1, 0], [0, 1]]]}


@pytest.mark.parametrize("text, message", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"a": ' * 100_000 + "1" + "}" * 100_000, "nested too deeply"),
    ('{"weights": [NaN], "means": [[0]], "covariances": [[[1]]]}', "NaN is not a JSON number"),
    ('{"weights": [Infinity], "means": [[0]], "covariances": [[[1]]]}', "Infinity is not a JSON number"),
    ("\xff\xfe{}", "not UTF-8"),
])
def test_hostile_documents_are_bad_input(text, message):
    data = text.encode("latin-1") if text.startswith("\xff") else text.encode()
    with pytest.raises(EmstudioError, match=message):
        parse_json_document(data, "start.json")


@pytest.mark.parametrize("digits", [400, 5_001])
def test_huge_integers_are_refused_as_parameters(tmp_path, digits):
    """400 digits overflowed a float (OverflowError), 5,001 exceed Python's integer parsing
    (ValueError): both were internal errors."""
    path = tmp_path / "p.json"
    path.write_text('{"weights": [1], "means": [[' + "9" * digits + ']], "covariances": [[[1]]]}')
    with pytest.raises(ParameterError, match="NaN or infinite"):
        read_params_file(path, "full")


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "p.json"
    path.write_bytes(codecs.BOM_UTF8 + json.dumps(GOOD).encode())
    assert read_params_file(path, "full").n_components == 2


def test_too_many_components_are_refused_before_any_array_is_built(tmp_path, monkeypatch):
    import emstudio.io.results as results

    def never(*args, **kwargs):  # make_params would check every matrix
        raise AssertionError("arrays were built")

    monkeypatch.setattr(results, "make_params", never)
    k = MAX_START_COMPONENTS + 1
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"weights": [1 / k] * k, "means": [[0]] * k, "covariances": [[[1]]] * k}))
    with pytest.raises(ParameterError, match="at most 10,000"):
        read_params_file(path, "full")
    path.write_text(json.dumps(GOOD))
    with pytest.raises(ParameterError, match="more than the data's 1 row"):
        read_params_file(path, "full", max_components=1)
