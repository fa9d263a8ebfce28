"""Crashes with a typical cause: the call's arguments, and a hint naming the cause.

When a student's function raises, the message alone (``TypeError: unsupported
operand type(s) for +: 'int' and 'tuple'``) rarely says what to change. The
grader knows the arguments of the call that failed, so it can say more:

- ``stride=(2, 1)`` is a (height, width) pair, and code written for ints only
  (CS231n's ``conv_param``) treats it as one int; or ``stride=2`` is an int, and
  code written for pairs only (``sh, sw = stride``) tries to unpack it;
- ``stride=None`` (pooling: stride = kernel_size) used as a number;
- an output size computed with ``/`` (Python 2's division floored; Python 3's
  gives a float that cannot size an array or a range);
- ``np.int`` and friends, removed from NumPy; ``xrange`` and other Python 2 names;
- a variable left unset for an int padding (code written for ``'same'``/``'valid'`` only);
- a 0-d array (or NumPy scalar) taken for a sequence.

Each rule looks at the exception's text and the call's arguments together and
names a cause only when both fit it (a hint must never name a mistake the code
does not make). Used by :class:`grader.plugin.Student` for every call.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from grader.compare import fmt_shape

# The integer arguments of the curriculum that are "an int or an (h, w) pair".
PAIR_ARGS = ("stride", "padding", "kernel_size")

# NumPy aliases removed in 1.24 (np.int ...) and 2.0 (np.float_, np.NaN ...), with what replaces them.
_REMOVED = {
    "int": "int (or np.int64)", "float": "float (or np.float64)", "bool": "bool (or np.bool_)",
    "object": "object", "long": "int", "str": "str", "unicode": "str", "complex": "complex",
    "float_": "np.float64", "complex_": "np.complex128", "int_": "np.int64", "unicode_": "np.str_",
    "string_": "np.bytes_", "NaN": "np.nan", "NAN": "np.nan", "Inf": "np.inf", "Infinity": "np.inf",
    "infty": "np.inf", "PINF": "np.inf", "NINF": "-np.inf", "asscalar": "x.item()", "product": "np.prod",
    "cumproduct": "np.cumprod", "alltrue": "np.all", "sometrue": "np.any", "round_": "np.round",
    "asfarray": "np.asarray(x, dtype=float)", "msort": "np.sort(x, axis=0)", "float128": "np.longdouble",
}

_TUPLE_AS_INT = re.compile(r"'tuple'|\btuple\b|slice indices must be integers|remapped shapes")
_INT_AS_PAIR = re.compile(r"non-iterable int object|'int' object is not (subscriptable|iterable)"
                          r"|object of type 'int' has no len")
_NONE_AS_INT = re.compile(r"NoneType|non-iterable NoneType")
_FLOAT_SIZE = re.compile(r"'(numpy\.)?float(64)?' object cannot be interpreted as an integer"
                         r"|slice indices must be integers|only integers, slices .* are valid indices")
_REMOVED_ATTR = re.compile(r"module 'numpy' has no attribute '(\w+)'")
_NOT_SET = re.compile(r"(?:cannot access local variable|local variable) '(\w+)'")
# Python 2 names that Python 3 no longer has, with what replaces them.
_PYTHON2 = {"xrange": "range", "raw_input": "input", "unicode": "str", "long": "int", "basestring": "str",
            "reduce": "functools.reduce", "izip": "zip", "iteritems": "items", "has_key": "`key in d`",
            "itervalues": "values", "iterkeys": "keys"}
_PY2_NAME = re.compile(r"name '(\w+)' is not defined|has no attribute '(\w+)'")
_ZERO_D = re.compile(r"iteration over a 0-d array|len\(\) of unsized object|array is 0-dimensional"
                     r"|invalid index to scalar variable")
_TO_SCALAR = re.compile(r"only 0-dimensional arrays can be converted|only length-1 arrays can be converted"
                        r"|only size-1 arrays can be converted|can only convert an array of size 1")


@lru_cache(maxsize=64)
def signatures(stub: Path) -> dict[str, tuple[str, ...]]:
    """``{function: parameter names}`` read from an exercise's stub (the contract's signatures)."""
    try:
        tree = ast.parse(Path(stub).read_text())
    except (OSError, SyntaxError, ValueError):
        return {}
    return {node.name: tuple(a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs)
            for node in tree.body if isinstance(node, ast.FunctionDef)}


def bind(params: tuple[str, ...], args: tuple, kwargs: dict) -> dict[str, Any]:
    """The call's arguments by name (positions named from the signature, ``arg1``... past it)."""
    named = {(params[i] if i < len(params) else f"arg{i + 1}"): v for i, v in enumerate(args)}
    named.update(kwargs)
    return named


def describe_value(value: Any) -> str:
    if type(value).__name__ == "Ref":  # a value the student's own code returned (a cache, a state)
        return " (what your own code returned)"
    if isinstance(value, np.ndarray):
        return f"of shape {fmt_shape(value.shape)}"
    if isinstance(value, dict):
        inner = ", ".join(f"{k!r}: {describe_value(v).removeprefix('of ').removeprefix('=')}"
                          for k, v in list(value.items())[:6])
        return f"={{{inner}}}"
    text = repr(value) if not isinstance(value, (np.floating, np.integer)) else repr(value.item())
    return f"={text if len(text) <= 60 else text[:57] + '...'}"


def call_line(func: str, named: dict[str, Any]) -> str:
    """``conv2d_forward(x of shape (2, 3, 7, 9), ..., stride=(2, 1), padding=0)``."""
    parts = []
    for name, value in named.items():
        d = describe_value(value)
        parts.append(f"{name} {d}" if d.startswith("of ") else f"{name}{d}")
    # (" (what your own code returned)" reads "cache (what your own code returned)")
    return f"{func}({', '.join(parts)})"


def _int_pair(v: Any) -> bool:
    return isinstance(v, tuple) and len(v) == 2 and all(isinstance(i, int) and not isinstance(i, bool) for i in v)


def _plain_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def hints(named: dict[str, Any], cause: str) -> list[tuple[str, str]]:
    """``(what this call shows, hint)`` for a crash whose message is ``cause``, given the call's
    arguments; [] when no rule fits. The hint's words do not depend on the arguments (a summary
    counts one mistake as one row); what does is in the first part, shown as a line of its own."""
    found = []
    pairs = [f"{k}={v!r}" for k, v in named.items() if k in PAIR_ARGS and _int_pair(v)]
    ints = [f"{k}={v!r}" for k, v in named.items() if k in PAIR_ARGS and _plain_int(v)]
    nones = [k for k, v in named.items() if k in PAIR_ARGS and v is None]
    convert = ("The curriculum takes stride, padding and kernel_size each as an int (the same for height and "
               "width) or an (h, w) pair: turn either into two numbers first, "
               "sh, sw = (stride, stride) if isinstance(stride, int) else stride")
    if pairs and _TUPLE_AS_INT.search(cause):
        found.append((
            f"{_listing(pairs)} "
            + ("is a (height, width) pair; your code treats it as one int." if len(pairs) == 1 else
               "are (height, width) pairs; your code treats a pair as one int."),
            "a (height, width) pair was used as one int (CS231n's conv_param and pool_param hold ints only). "
            + convert))
    elif ints and _INT_AS_PAIR.search(cause):
        found.append((
            f"{_listing(ints)} {'is an int' if len(ints) == 1 else 'are ints'} here; your code expects "
            "(height, width) pairs only.",
            "an int was used as a (height, width) pair (Holberton's and Keras' layers take pairs only). " + convert))
    elif nones and _NONE_AS_INT.search(cause):
        found.append((f"{nones[0]}=None here.", "stride=None means stride = kernel_size (PyTorch's default): "
                                                "replace None by kernel_size before using it"))
    elif _FLOAT_SIZE.search(cause):
        found.append(("", "a size or an index is a float: in Python 3, / always gives a float (Python 2's / floored "
                          "integers, so older course code sizes arrays with it): use integer division //, e.g. "
                          "H_out = (H + 2*ph - KH) // sh + 1, or int() of a value that is whole"))
    m = _REMOVED_ATTR.search(cause)
    if m and m.group(1) in _REMOVED:
        found.append((f"np.{m.group(1)} no longer exists: use {_REMOVED[m.group(1)]}.",
                      "an alias removed from NumPy was used (np.int, np.float, np.bool in 1.24; np.float_, np.NaN, "
                      "np.product... in 2.0): use the built-in type or the current name"))
    m = _PY2_NAME.search(cause)
    name = m and (m.group(1) or m.group(2))
    if name in _PYTHON2 and not _REMOVED_ATTR.search(cause):
        found.append((f"{name} is Python 2: use {_PYTHON2[name]}.",
                      "Python 2 code (xrange, dict.iteritems, print without parentheses...) does not run in "
                      "Python 3: use the Python 3 names"))
    m = _NOT_SET.search(cause)
    padding = named.get("padding")
    if m and "padding" in named and not isinstance(padding, str):
        found.append((f"{m.group(1)!r} was never set for padding={padding!r}.",
                      "a variable was never set for this padding: code that handles padding only as the strings "
                      "'same' / 'valid' (Keras, Holberton) or only as a tuple sets nothing for an int; the "
                      "curriculum's padding is an int or an (h, w) pair"))
    if _ZERO_D.search(cause):
        found.append(("", "a 0-d array (or a NumPy scalar) is one number, not a sequence: it has no len(), no items "
                          "and no index. A reduction without an axis (np.sum(x), np.max(x)) gives one: reduce along "
                          "an axis, or use the number itself"))
    if _TO_SCALAR.search(cause):
        found.append(("", "int() / float() of an array that has dimensions: NumPy 2 converts only 0-d arrays (older "
                          "NumPy took any one-element array, such as deeplearning.ai's b of shape (1, 1, 1)). Take "
                          "the element itself, x.item() or x[0, 0, 0], or keep the array"))
    return found
