"""The data format that crosses the sandbox boundary.

Only plain data travels between the grader and student code: JSON with numeric
arrays encoded as raw little-endian bytes (base64). Nothing is unpickled and no
constructor of the sender's choosing ever runs on the receiving side, so a
hostile submission cannot make the grader execute code by what it returns.

This module is imported by the sandbox worker too, so it must depend on NumPy
and the standard library only.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import numpy as np

# Dtype kinds allowed across the boundary: bool, signed/unsigned int, float.
_ALLOWED_KINDS = "biuf"
_MAX_NDIM = 8
# The most JSON values (containers and scalars) one message may hold. A reply of
# the course's largest exercise holds a few hundred; millions of tiny ones
# ("[],[],...") would cost the grader seconds and gigabytes to parse, so such a
# message is refused before it is parsed. Depth is bounded twice: json's own
# recursion guard (a RecursionError, turned into a WireError) and decode's.
MAX_ITEMS = 200_000


class WireError(ValueError):
    """A value cannot be encoded or a message is malformed."""


class Opaque:
    """Stands for a value of the student's that is not plain data (a cache).

    The grader can hand it back to the student's code by reference (the
    sandbox keeps the real object) but never looks inside it.
    """

    def __init__(self, type_name: str, ref: list | None = None):
        self.type_name = type_name
        self.ref = ref

    def __repr__(self) -> str:
        return f"<opaque {self.type_name}>"


class Ref:
    """A reference to a value kept inside the sandbox (a result or stored input)."""

    def __init__(self, path: list):
        self.path = list(path)

    def __repr__(self) -> str:
        return f"Ref({self.path})"


def encode(value: Any, _depth: int = 0, _path: list | None = None) -> Any:
    """Turn a value into JSON-compatible plain data.

    Values that are not plain data become ``{"__opaque__": type}`` markers
    (the sandbox keeps the object itself and can resolve it by path).
    """
    path = _path or []
    if _depth > 20:
        return {"__opaque__": "deeply nested object"}
    # Exact type checks: subclasses of int/float/str/list/dict/ndarray may lie
    # in __eq__, __float__, __len__ and so on, so they are converted explicitly.
    if value is None or type(value) is bool:
        return value
    if type(value) is int:
        if abs(value) < 2**63:
            return value
        return {"__float__": repr(float(value))} if abs(value) < 1e308 else {"__opaque__": "int"}
    if type(value) is float:
        return _encode_float(value)
    if type(value) is str:
        return {"__str__": value[:10_000]}
    if isinstance(value, (np.generic,)) and type(value).__module__ == "numpy":
        return _encode_array(np.asarray(value), scalar=True)
    if isinstance(value, np.ndarray):
        # The base class's view reads the raw memory and calls none of a
        # subclass's (possibly lying) overrides.
        return _encode_array(np.ndarray.view(value, np.ndarray))
    if isinstance(value, (list, tuple)):
        # Subclasses (namedtuple, a custom list) become plain containers, read
        # through the base class so that overridden methods are not called.
        base = tuple if isinstance(value, tuple) else list
        raw = list(base.__iter__(value))
        if len(raw) > 100_000:
            return {"__opaque__": f"{base.__name__} of {len(raw)} items"}
        items = [encode(v, _depth + 1, path + [i]) for i, v in enumerate(raw)]
        return {"__tuple__": items} if base is tuple else {"__list__": items}
    if isinstance(value, dict):  # OrderedDict, defaultdict... as plain dicts
        out = {}
        for k, v in list(dict.items(value))[:1000]:
            if type(k) is not str:
                return {"__opaque__": "dict with non-string keys"}
            out[k] = encode(v, _depth + 1, path + [k])
        return {"__dict__": out}
    return {"__opaque__": _type_name(value)}


def _type_name(value: Any) -> str:
    try:
        t = type(value)
        return f"{t.__module__}.{t.__qualname__}" if t.__module__ != "builtins" else t.__qualname__
    except Exception:  # a metaclass that lies
        return "object"


def _encode_float(x: float) -> Any:
    if math.isfinite(x):
        return x
    return {"__float__": repr(x)}  # nan, inf, -inf are not valid JSON numbers


def _encode_array(a: np.ndarray, scalar: bool = False) -> Any:
    if a.dtype.kind == "O" and not scalar and a.ndim <= _MAX_NDIM and a.size <= 100_000:
        # An object array (np.frompyfunc's result, say) crosses element by element, each
        # as plain data, so that the grader can compare numbers by value and say what
        # the other elements are.
        items = [encode(np.complex128(x) if type(x) is complex else x, 1)
                 for x in np.ndarray.view(a, np.ndarray).ravel(order="C").tolist()]
        return {"__objarray__": {"shape": list(a.shape), "items": items}}
    if a.dtype.kind not in _ALLOWED_KINDS and a.dtype.kind != "c":
        return {"__opaque__": f"numpy array of dtype {a.dtype}"}
    if a.ndim > _MAX_NDIM:
        return {"__opaque__": f"numpy array with {a.ndim} dimensions"}
    a = np.array(a, order="C", copy=True)  # ascontiguousarray would make 0-d arrays 1-d
    dtype = a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype
    a = a.astype(dtype, copy=False)
    return {
        "__ndarray__": {
            "dtype": dtype.str,
            "shape": list(a.shape),
            "scalar": scalar,
            "data": base64.b64encode(a.tobytes()).decode("ascii"),
        }
    }


def decode(data: Any, _depth: int = 0, _path: list | None = None) -> Any:
    """Inverse of :func:`encode`, validating everything it reads.

    Raises WireError for anything that does not follow the format.
    """
    path = _path or []
    if _depth > 25:
        raise WireError("message nested too deeply")
    if data is None or type(data) in (bool, float):
        return data
    if type(data) is int:
        if abs(data) >= 2**63:  # encode sends larger ones as floats
            raise WireError("integer out of range")
        return data
    if type(data) is not dict or len(data) != 1:
        raise WireError("malformed value")
    (tag, body), = data.items()
    if tag == "__float__":
        if type(body) is not str or body.lower() not in {"nan", "inf", "-inf"} and not _is_float_text(body):
            raise WireError("malformed float")
        return float(body)
    if tag == "__str__":
        if type(body) is not str:
            raise WireError("malformed string")
        return body
    if tag == "__ndarray__":
        return _decode_array(body)
    if tag == "__objarray__":
        return _decode_object_array(body, _depth)
    if tag in ("__list__", "__tuple__"):
        if type(body) is not list:
            raise WireError("malformed sequence")
        items = [decode(v, _depth + 1, path + [i]) for i, v in enumerate(body)]
        return tuple(items) if tag == "__tuple__" else items
    if tag == "__dict__":
        if type(body) is not dict:
            raise WireError("malformed dict")
        return {str(k): decode(v, _depth + 1, path + [k]) for k, v in body.items()}
    if tag == "__opaque__":
        # The student names the type (a class's __qualname__ is theirs): keep it on one
        # line and free of controls, since reports show it inside the grader's sentences.
        return Opaque("".join(c if c.isprintable() else "\ufffd" for c in str(body)[:200]), path)
    if tag == "__ref__":
        if type(body) is not list:
            raise WireError("malformed reference")
        return Ref(body)
    raise WireError(f"unknown tag {tag[:40]!r}")


def _is_float_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return len(text) < 40


def _decode_object_array(body: Any, depth: int) -> np.ndarray:
    """An array of dtype object whose elements are decoded plain values (never arbitrary objects)."""
    try:
        shape = tuple(int(s) for s in body["shape"])
        items = body["items"]
    except (KeyError, TypeError, ValueError) as exc:
        raise WireError(f"malformed object array: {exc}") from None
    if type(items) is not list or len(shape) > _MAX_NDIM or any(s < 0 for s in shape) \
            or math.prod(shape) != len(items):
        raise WireError("malformed object array")
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = decode(item, depth + 1, None)
    return out.reshape(shape)


def _decode_array(body: Any) -> np.ndarray | np.generic:
    if type(body) is not dict:
        raise WireError("malformed array")
    try:
        dtype = np.dtype(str(body["dtype"]))
        shape = tuple(int(s) for s in body["shape"])
        raw = base64.b64decode(body["data"], validate=True)
    except (KeyError, TypeError, ValueError) as exc:
        raise WireError(f"malformed array: {exc}") from None
    if dtype.kind not in _ALLOWED_KINDS and dtype.kind != "c" or dtype.hasobject:
        raise WireError(f"array dtype {dtype} is not allowed")
    if len(shape) > _MAX_NDIM or any(s < 0 or s >= 2**40 for s in shape):
        raise WireError("malformed array shape")
    if math.prod(shape) * dtype.itemsize != len(raw):
        raise WireError("array data does not match its shape")
    a = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    if body.get("scalar") is True and a.ndim == 0:
        return a[()]
    return a


def encode_ref(ref: Ref) -> Any:
    return {"__ref__": ref.path}


def dumps(message: dict) -> bytes:
    """Serialise a protocol message to one line of JSON."""
    return json.dumps(message, allow_nan=False, separators=(",", ":")).encode() + b"\n"


def loads(line: bytes, max_items: int = MAX_ITEMS) -> dict:
    """Parse one protocol line, refusing anything that is not a JSON object, or
    that would cost far more to parse than a real message (see :data:`MAX_ITEMS`)."""
    # Every value after the first follows a ',' or opens a container: a cheap bound
    # on what parsing would build (base64 array data holds none of these bytes).
    items = line.count(b",") + line.count(b"[") + line.count(b"{")
    if items > max_items:
        raise WireError(f"message too large to parse: over {max_items} values")
    try:
        msg = json.loads(line)
    except RecursionError:
        raise WireError("message nested too deeply") from None
    except (ValueError, MemoryError) as exc:
        raise WireError(f"malformed message: {str(exc)[:80]}") from None
    if type(msg) is not dict:
        raise WireError("malformed message")
    return msg
