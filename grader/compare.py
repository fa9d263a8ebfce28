"""Comparing a student's value with the oracle's, and explaining the difference.

The checks follow ``torch.testing.assert_close`` and ``numpy.testing``: type,
then shape, then finiteness, then values with ``|a - e| <= atol + rtol * |e|``
elementwise, where ``atol`` is relative to the largest expected magnitude (an
absolute atol larger than a gradient's scale would let an all-zeros stub pass).
A failure is a :class:`Mismatch` whose message names the shapes, the greatest
absolute and relative errors, the first differing index with both values, and
a hint when the difference has the signature of a common mistake.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np

from grader.sandbox.wire import Opaque

# An expected-value argument: an Expected (one value per device) or a plain value.
ExpectedLike = Any


class GradingFailure(AssertionError):
    """A check failed because of the student's code; the message is for the student."""


class Mismatch(GradingFailure):
    kind = "mismatch"


class ShapeMismatch(Mismatch):
    """A value of the wrong shape (its failure kind is "shape", not "mismatch": gradebooks say so)."""

    kind = "shape"


def hint_lines(hint: str) -> str:
    """``Hint: <the mistake>`` and, on a line of its own, what is particular to this case.

    A hint's first line names the mistake in words that do not depend on the case (no
    numbers, no axis): summaries and the class report count one mistake as one row. What
    varies goes after ``(here...`` in the hint, or after a newline, and is shown below it."""
    head, sep, detail = hint.partition(" (here")
    return f"Hint: {head}" + (f"\n  (here{detail}" if sep else "")


def fmt_shape(shape: tuple) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def fmt_number(x: Any) -> str:
    """A number as a student reads it: ``nan``, ``-inf``, ``2.2626``, ``3`` (never ``np.float64(nan)``)."""
    try:
        x = complex(x)
    except (TypeError, ValueError, OverflowError):
        return str(x)
    if x.imag:
        return f"{x.real:.10g}{x.imag:+.10g}j"
    return f"{x.real:.10g}"


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 entry``, ``2 entries``: the count with the right form of the word."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _at(index: tuple) -> str:
    """`` at index (1, 0)``, or nothing for a scalar (whose only index is ())."""
    return f" at index {index}" if index != () else ""


def describe(value: Any) -> str:
    """A short description of a returned value, for messages."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {fmt_shape(value.shape)} and dtype {value.dtype}"
    if isinstance(value, np.generic):
        return f"a NumPy scalar ({value.dtype}: {fmt_number(value) if value.dtype.kind in 'biufc' else value})"
    if isinstance(value, Opaque):
        return f"an object of type {value.type_name}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(value)}"
    if isinstance(value, (int, float)):
        return f"a {type(value).__name__} ({fmt_number(value)})"
    return f"a {type(value).__name__} ({value!r})"[:120]


def _devices(expected: ExpectedLike) -> dict[str, Any]:
    # Duck-typed (an oracle.Expected) so that this module does not import torch.
    by_device = getattr(expected, "by_device", None)
    return by_device if isinstance(by_device, dict) else {"cpu": expected}


def as_array(actual: Any, what: str, expected_shape: tuple) -> np.ndarray:
    """The student's value as a numeric ndarray, or a Mismatch saying why not."""
    if actual is None:
        raise Mismatch(f"{what} returned None; expected an array of shape {fmt_shape(expected_shape)}"
                       " (is a `return` missing, or a TODO left as None?)")
    if isinstance(actual, (bool, int, float, np.generic)) and not isinstance(actual, np.ndarray):
        actual = np.asarray(actual)
    elif isinstance(actual, (list, tuple)):
        try:
            actual = np.asarray(actual)
        except (ValueError, TypeError):
            raise Mismatch(f"{what}: expected an array of shape {fmt_shape(expected_shape)}, "
                           f"got {describe(actual)} that is not a rectangular array of numbers") from None
    if not isinstance(actual, np.ndarray):
        raise Mismatch(f"{what}: expected a NumPy array of shape {fmt_shape(expected_shape)}, "
                       f"got {describe(actual)}")
    return real_array(actual, what)


def _not_real(x: Any) -> str:
    """Why ``x`` (one element) is not a real number, or '' when it is one."""
    if isinstance(x, (bool, int, float, np.bool_, np.integer, np.floating)):
        return ""
    if isinstance(x, (complex, np.complexfloating)):
        return "" if x.imag == 0 else f"a complex number with a nonzero imaginary part ({fmt_number(x)})"
    if x is None:
        return "None"
    if isinstance(x, (str, bytes, np.str_, np.bytes_)):
        return f"a string ({str(x)[:40]!r})"
    if isinstance(x, np.ndarray) and x.ndim == 0:
        return _not_real(x[()])
    if isinstance(x, Opaque):
        return f"an object of type {x.type_name}"
    return f"an object of type {type(x).__name__}"


def real_array(arr: np.ndarray, what: str) -> np.ndarray:
    """``arr`` if its elements are real numbers of any dtype (int, bool, float32,
    an object array of Python floats...), converted to float64 when they are
    not already a real dtype; a Mismatch naming the first element that is not a
    real number (a string, None, a complex with a nonzero imaginary part)."""
    kind = arr.dtype.kind
    if kind in "biuf":
        return arr
    if kind == "c":
        bad = np.argwhere(arr.imag != 0)
        if bad.size == 0:
            return arr.real.astype(np.float64)
        index = tuple(int(i) for i in bad[0])
        raise Mismatch(f"{what}: expected real numbers, got a complex number with a nonzero imaginary "
                       f"part ({fmt_number(arr[index])}){_at(index)}")
    if kind == "O":
        for index, x in np.ndenumerate(arr):
            reason = _not_real(x)
            if reason:
                raise Mismatch(f"{what}: expected real numbers, got {reason}{_at(index)} "
                               f"(an array of dtype object)")
        return np.array([complex(x).real for x in arr.ravel()], dtype=np.float64).reshape(arr.shape)
    if kind in "US":
        raise Mismatch(f"{what}: expected real numbers, got strings (an array of dtype {arr.dtype})")
    raise Mismatch(f"{what}: expected real numbers, got an array of dtype {arr.dtype}")


def _shape_hint(actual: np.ndarray, shape: tuple) -> str:
    a = actual.shape
    if a == shape[::-1] and len(shape) == 2:
        return "it looks transposed: check the order of a matrix product or a missing .T"
    if actual.size == math.prod(shape):
        if tuple(s for s in a if s != 1) == tuple(s for s in shape if s != 1):
            return ("same values, different dimensions: reshape it, or keep the dimension "
                    "(keepdims=True) in a sum or mean")
        return "same number of entries, different shape: a reshape with the wrong order?"
    try:
        np.broadcast_shapes(a, shape)
        if actual.size > math.prod(shape):
            if len(a) == len(shape):
                axes = [i for i, (x, y) in enumerate(zip(a, shape)) if y == 1 and x > 1]
                if len(axes) == 1 and a[-1] != a[0] or len(axes) == 1 and len(a) != 2:
                    return (f"a sum (or mean) over axis {axes[0]} is missing: reduce it with "
                            f"keepdims=True")
            return ("an unintended broadcast, or a missing sum: an array of shape (n,) combined with "
                    "(n, 1) or (1, n) gives (n, n); check the shapes of the arrays you add or multiply")
        ones = [i for i, (x, y) in enumerate(zip(a[::-1], shape[::-1])) if x == 1 and y > 1]
        if len(a) < len(shape) or ones:
            where = f"axis {len(a) - 1 - ones[0]} has 1 entry where {shape[len(shape) - 1 - ones[0]]} are " \
                    f"expected" if ones else f"{len(shape) - len(a)} axis/axes fewer than expected"
            return f"a sum or mean over an axis that should stay, or a size computed wrongly? (here {where})"
        return ""
    except ValueError:
        pass
    return ""


def check_close(
    actual: Any,
    expected: ExpectedLike,
    what: str,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    mistakes: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
    factors: Mapping[float, str] | None = None,
    inputs: Mapping[str, Any] | None = None,
    shapes: Mapping[tuple, str] | None = None,
    nonfinite_hint: str | None = None,
) -> None:
    """Raise Mismatch unless ``actual`` matches the expected value on every device.

    ``mistakes`` maps a hint to the value a known wrong implementation gives
    (or is a function returning that map, called only when the values differ:
    for hints that cost something to work out);
    ``factors`` maps a constant factor (such as ``m``) to a hint; ``shapes``
    maps a wrong shape that a known mistake produces to a hint; ``inputs``
    are described (shapes) in the message, and an input returned unchanged is
    named; ``nonfinite_hint`` explains NaN or inf where the answer is finite
    (instead of the general explanation) when no known mistake does.
    """
    for device, exp in _devices(expected).items():
        exp = np.asarray(exp, dtype=np.float64)
        arr = as_array(actual, what, exp.shape)
        context = _inputs_line(inputs)
        if arr.shape != exp.shape:
            hint = (shapes or {}).get(tuple(arr.shape)) or _shape_hint(arr, exp.shape)
            raise ShapeMismatch(f"{what}: expected shape {fmt_shape(exp.shape)}, got {fmt_shape(arr.shape)}"
                                + context + (f"\n{hint_lines(hint)}" if hint else ""))
        arr_dtype = arr.dtype
        arr = arr.astype(np.float64)
        _check_values(arr, exp, what, rtol, atol, mistakes, factors, context, device, arr_dtype,
                      inputs, nonfinite_hint)


_NAN_HINT = ("NaN or inf where the answer is finite usually comes from overflow, e.g. np.exp of a large "
             "number or log(0) (use a numerically stable formula), from 0 / 0 (a mean or a max over "
             "nothing: an empty slice?), or from gradient descent diverging (a step too large: a sum "
             "where a mean was meant?)")


def _unchanged_input(arr: np.ndarray, inputs: Mapping[str, Any] | None) -> str:
    """Name the input that was returned as it came (a backward pass that passes dout through, say)."""
    for name, value in (inputs or {}).items():
        if isinstance(value, np.ndarray) and value.shape == arr.shape and value.dtype.kind in "biuf" \
                and np.array_equal(arr, value):
            return (f"every value equals the input {name}, unchanged: the result was never computed "
                    f"from it (a `return {name}` left in place, or a variable that was never updated?)")
    return ""


def _precision_hint(dtype: np.dtype, arr: np.ndarray, exp: np.ndarray) -> str:
    """When a low-precision float's rounding explains the difference, say so."""
    if dtype.kind != "f" or dtype.itemsize >= 8:
        return ""
    eps = float(np.finfo(dtype).eps)
    scale = float(np.max(np.abs(exp[np.isfinite(exp)]), initial=0.0))
    with np.errstate(invalid="ignore"):
        if np.all(np.abs(arr - exp) <= 4 * eps * (np.abs(exp) + 1e-6 * scale) + np.finfo(dtype).tiny):
            return (f"your array is {dtype}, which keeps only about {int(np.finfo(dtype).precision)} digits; "
                    "compute in float64 (NumPy's default: drop the astype/dtype that asks for "
                    f"{dtype})")
    return ""


def _check_values(arr, exp, what, rtol, atol, mistakes, factors, context, device, arr_dtype=np.dtype(np.float64),
                  inputs=None, nonfinite_hint=None):
    scale = float(np.max(np.abs(exp[np.isfinite(exp)]), initial=0.0))
    abs_tol = atol * max(scale, 1e-300) if scale > 0 else atol
    bad_finite = ~np.isfinite(arr) & np.isfinite(exp)
    err = np.abs(arr - exp)
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = (err <= abs_tol + rtol * np.abs(exp)) | (arr == exp)
    ok &= ~bad_finite
    if ok.all():
        return
    n_bad = int((~ok).sum())
    first = tuple(int(i) for i in np.argwhere(~ok)[0]) if arr.ndim else ()
    lines = [f"{what}: values differ from the expected ones" + (f" (oracle on {device})" if device != "cpu" else "")]
    if context:
        lines.append(context.strip())
    if bad_finite.any():
        idx = tuple(int(i) for i in np.argwhere(bad_finite)[0]) if arr.ndim else ()
        n = int(bad_finite.sum())
        if arr.ndim:
            lines.append(f"NaN or inf{_at(idx)}: got {fmt_number(arr[idx])}, expected {fmt_number(exp[idx])}"
                         f" ({plural(n, 'such entry', 'such entries')})")
        else:
            lines.append(f"Got {fmt_number(arr[idx])} where the answer is finite: expected {fmt_number(exp[idx])}")
        hint = diagnose(arr, exp, rtol, abs_tol, mistakes, None, device)
        lines.append(hint_lines(hint or nonfinite_hint or _NAN_HINT))
        raise Mismatch("\n".join(lines))
    finite_err = np.where(np.isfinite(err), err, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(np.abs(exp) > 0, finite_err / np.abs(exp), np.where(finite_err > 0, np.inf, 0.0))
    ia = np.unravel_index(int(np.argmax(finite_err)), arr.shape) if arr.ndim else ()
    ir = np.unravel_index(int(np.argmax(rel)), arr.shape) if arr.ndim else ()
    if arr.ndim:
        lines.append(f"Mismatched elements: {n_bad} / {arr.size} ({100.0 * n_bad / max(arr.size, 1):.1f}%)")
    lines.append(f"{'Greatest absolute' if arr.ndim else 'Absolute'} difference: {finite_err[ia]:.4g}"
                 f"{_at(tuple(map(int, ia)))} (up to {abs_tol:.2g} allowed)")
    lines.append(f"{'Greatest relative' if arr.ndim else 'Relative'} difference: {rel[ir]:.4g}"
                 f"{_at(tuple(map(int, ir)))} (up to {rtol:.2g} allowed)")
    lines.append(f"{'First mismatch' + _at(first) if arr.ndim else 'Value'}: expected {fmt_number(exp[first])}, "
                 f"got {fmt_number(arr[first])}")
    hint = (diagnose(arr, exp, rtol, abs_tol, mistakes, factors, device) or _unchanged_input(arr, inputs)
            or _precision_hint(arr_dtype, arr, exp))
    if hint:
        lines.append(hint_lines(hint))
    raise Mismatch("\n".join(lines))


def _close(a: np.ndarray, b: Any, rtol: float, abs_tol: float) -> bool:
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    with np.errstate(invalid="ignore"):
        # inf matches the same inf and NaN matches NaN: a mistake can be modelled by its NaN or inf.
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        near = np.isfinite(b) & (np.abs(a - b) <= abs_tol + max(rtol, 1e-6) * np.abs(b))
        return bool(np.all(same | near))


def diagnose(arr, exp, rtol, abs_tol, mistakes=None, factors=None, device="cpu") -> str:
    """Name the common mistake whose signature ``arr`` has, or return ''."""
    if callable(mistakes):
        mistakes = mistakes()
    for hint, wrong in (mistakes or {}).items():
        by_device = _devices(wrong)
        wrong_value = by_device.get(device, by_device.get("cpu"))
        if _close(arr, wrong_value, rtol, abs_tol):
            return hint
    # All zeros from code that never filled its result in (not for 0/1 predictions,
    # where all zeros is also what a wrong threshold gives).
    if np.any(exp != 0) and not np.any(arr) and not np.all(np.isin(exp, (0.0, 1.0))):
        return (("every value is" if arr.ndim else "the value is") + " 0: no contribution reached the result "
                "(an array from np.zeros that the loop never updates, a mask that never matches, or a result "
                "returned before it is filled in?)")
    if np.any(exp != 0) and _close(arr, -exp, rtol, abs_tol):
        return "the sign is flipped (every value is the negative of the expected one)"
    if arr.ndim == 2 and arr.shape[0] == arr.shape[1] and arr.shape[0] > 1 and _close(arr, exp.T, rtol, abs_tol):
        return "the result is transposed"
    if arr.size > 1 and np.all(np.isfinite(arr)) and not _close(arr, exp, rtol, abs_tol) \
            and _close(np.sort(arr, axis=None), np.sort(exp, axis=None), rtol, abs_tol):
        # The same numbers, elsewhere: never by chance (and a right answer was caught above).
        return ("the right values in the wrong places: a reshape or transpose in the wrong order? (reshape "
                "only keeps the memory order: move the axes with transpose first, then reshape)")
    nz = np.abs(exp) > 1e-12 * max(float(np.max(np.abs(exp))), 1e-300)
    if nz.sum() >= 1 and np.all(np.isfinite(arr)):
        ratios = arr[nz] / exp[nz]
        k = float(np.median(ratios))
        if k != 0 and abs(k - 1) > 1e-6 and np.allclose(ratios, k, rtol=1e-6) and _close(arr, k * exp, rtol, abs_tol):
            for factor, hint in (factors or {}).items():
                if math.isclose(k, factor, rel_tol=1e-6):
                    return f"{hint} (here every value is {k:.6g} times the expected one)"
            # One number always has "a constant ratio" to another: only say
            # so when several entries agree on it.
            if nz.sum() > 1:
                return (f"a missing or extra constant factor? Every value is the same multiple of the expected one "
                        f"(here every value is {k:.6g} times the expected one)")
        diff = arr - exp
        c = float(np.median(diff))
        if nz.sum() > 1 and abs(c) > abs_tol and np.allclose(diff, c, rtol=0, atol=abs_tol + rtol * abs(c)):
            return f"every value is off by the same constant (here {c:.6g})"
    return ""


def as_scalar(actual: Any, what: str) -> float:
    """The student's scalar as a float: a Python number, a NumPy scalar or a 0-d
    array; anything else (a (1,) or (1, 1) array: with a hint to squeeze it) is a Mismatch."""
    if isinstance(actual, np.ndarray) and actual.ndim > 0:
        if actual.size == 1:
            raise ShapeMismatch(f"{what}: expected a scalar (a float), got an array of shape "
                                f"{fmt_shape(actual.shape)}\nHint: use float(x), x.item() or np.squeeze(x)")
        raise Mismatch(f"{what}: expected a scalar (a float), got {describe(actual)}")
    if isinstance(actual, (list, tuple, dict, Opaque, str)) or actual is None:
        raise Mismatch(f"{what}: expected a scalar (a float), got {describe(actual)}")
    reason = _not_real(actual) if isinstance(actual, (np.ndarray, np.generic)) else ""
    if reason and not reason.startswith("a complex"):
        raise Mismatch(f"{what}: expected a scalar (a float), got {reason}")
    try:
        value = complex(actual)
    except (TypeError, ValueError, OverflowError):
        raise Mismatch(f"{what}: expected a scalar (a float), got {describe(actual)}") from None
    if value.imag != 0:
        raise Mismatch(f"{what}: expected a real number, got a complex number with a nonzero imaginary "
                       f"part ({fmt_number(value)})")
    return value.real


def as_floats(actual: Any, what: str) -> np.ndarray:
    """The student's numbers (a list, a tuple or an array) as a float64 array, or a Mismatch."""
    if isinstance(actual, (dict, str, Opaque)) or actual is None:
        raise Mismatch(f"{what}: expected numbers, got {describe(actual)}")
    try:
        arr = np.asarray(actual)
    except (TypeError, ValueError, OverflowError):
        raise Mismatch(f"{what}: expected numbers, got {describe(actual)}") from None
    return real_array(arr, what).astype(np.float64)


def check_scalar(actual: Any, expected: ExpectedLike, what: str, **kwargs: Any) -> float:
    """Like check_close for a scalar; accepts what :func:`as_scalar` accepts."""
    value = as_scalar(actual, what)
    check_close(np.asarray(actual), expected, what, **kwargs)
    return value


def check_keys(actual: Any, keys: list[str], what: str) -> dict:
    """The student's dict, provided it has all the expected keys (extra keys are allowed)."""
    if not isinstance(actual, dict):
        raise Mismatch(f"{what}: expected a dict with keys {keys}, got {describe(actual)}")
    missing = [k for k in keys if k not in actual]
    if missing:
        raise Mismatch(f"{what}: the dict is missing key(s) {missing} (it has {sorted(actual)})")
    return actual


def check_tuple(actual: Any, n: int, what: str) -> tuple:
    if not isinstance(actual, (tuple, list)) or len(actual) != n:
        raise Mismatch(f"{what}: expected a tuple of {n} values, got {describe(actual)}")
    return tuple(actual)


def _inputs_line(inputs: Mapping[str, Any] | None) -> str:
    if not inputs:
        return ""
    parts = []
    for name, value in inputs.items():
        if isinstance(value, np.ndarray):
            parts.append(f"{name} of shape {fmt_shape(value.shape)}")
        else:
            parts.append(f"{name}={_fmt_input(value)}")
    return "\nInputs: " + ", ".join(parts)


def _fmt_input(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)) or value is None:
        return str(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return fmt_number(value)
    if isinstance(value, (tuple, list)):
        inner = ", ".join(_fmt_input(v) for v in value)
        return f"({inner}{',' if len(value) == 1 else ''})" if isinstance(value, tuple) else f"[{inner}]"
    return repr(value)
