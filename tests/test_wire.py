"""The boundary format carries plain data only and rejects anything else."""

import json

import numpy as np
import pytest

from grader.sandbox import wire


@pytest.mark.parametrize("value", [
    1.5, 0, -3, True, None, "text",
    np.arange(12.0).reshape(3, 4), np.array(2.5), np.float64(0.25), np.int32(7),
    np.array([True, False]), np.zeros((0, 3)),
    (1.0, [2.0, {"a": np.ones(2)}]),
])
def test_round_trip(value):
    back = wire.decode(json.loads(wire.dumps({"v": wire.encode(value)}))["v"])
    if isinstance(value, np.ndarray):
        assert type(back) is np.ndarray and back.dtype == value.dtype and np.array_equal(back, value)
    elif isinstance(value, np.generic):
        assert type(back) is type(value) and back == value
    elif isinstance(value, tuple):
        assert type(back) is tuple and back[0] == 1.0 and np.array_equal(back[1][1]["a"], np.ones(2))
    else:
        assert back == value and type(back) is type(value)


def test_non_finite_floats_survive():
    back = wire.decode(json.loads(wire.dumps({"v": wire.encode(float("nan"))}))["v"])
    assert back != back
    assert wire.decode(wire.encode(float("-inf"))) == float("-inf")


def test_objects_become_opaque_markers():
    class Thing:
        pass

    marker = wire.decode(wire.encode({"cache": Thing()}))["cache"]
    assert isinstance(marker, wire.Opaque) and "Thing" in marker.type_name and marker.ref == ["cache"]
    # An object array crosses element by element: what is not plain data stays a marker.
    back = wire.decode(wire.encode(np.array([object()])))
    assert back.dtype == object and isinstance(back[0], wire.Opaque)


def test_object_arrays_cross_as_their_elements():
    a = np.frompyfunc(float, 1, 1)(np.arange(6.0).reshape(2, 3))
    back = wire.decode(json.loads(wire.dumps({"v": wire.encode(a)}))["v"])
    assert back.dtype == object and back.shape == (2, 3) and back.tolist() == a.tolist()
    mixed = wire.decode(wire.encode(np.array([1.5, None, "x"], dtype=object)))
    assert mixed.tolist() == [1.5, None, "x"]
    with pytest.raises(wire.WireError):
        wire.decode({"__objarray__": {"shape": [3], "items": [1.0]}})


@pytest.mark.parametrize("bad", [
    {"__ndarray__": {"dtype": "|O", "shape": [1], "data": ""}},
    {"__ndarray__": {"dtype": "<f8", "shape": [2], "data": "AAAA"}},
    {"__ndarray__": {"dtype": "<f8", "shape": [-1], "data": ""}},
    {"__pickle__": "gASVBAAAAAAAAABOLg=="},
    {"__float__": "__import__('os')"},
    [1, 2],
    {"a": 1, "b": 2},
    10 ** 400,  # encode sends ints past int64 as floats: only a subverted worker sends these
    {"__ndarray__": {"dtype": "<f8", "shape": [2 ** 70, 0], "data": ""}},
])
def test_malformed_values_are_rejected(bad):
    with pytest.raises(wire.WireError):
        wire.decode(bad)


def test_messages_must_be_json_objects():
    with pytest.raises(wire.WireError):
        wire.loads(b"[1, 2]")
    with pytest.raises(wire.WireError):
        wire.loads(b"\x80\x04not json")


def test_loads_refuses_messages_that_cost_more_to_parse_than_any_reply():
    import pytest

    from grader.sandbox import wire
    from grader.sandbox.client import Limits

    with pytest.raises(wire.WireError, match="too large to parse"):
        wire.loads(b'{"value":[' + b"[]," * 300_000 + b"[]]}")
    with pytest.raises(wire.WireError, match="nested too deeply"):
        wire.loads(b'{"value":' + b"[" * 150_000)
    ok = wire.dumps({"value": wire.encode([list(range(100))] * 100)})
    assert wire.decode(wire.loads(ok)["value"]) == [list(range(100))] * 100
    assert Limits.from_dict({"reply_mb": 2}).reply_mb == 2 and Limits().reply_mb == 16
