"""Mismatch reports name shapes, errors, the first differing index and the likely mistake."""

import numpy as np
import pytest

from grader.compare import Mismatch, check_close, check_scalar


def report(actual, expected, **kwargs):
    with pytest.raises(Mismatch) as info:
        check_close(actual, expected, "f(x)", **kwargs)
    return str(info.value)


def test_match_passes_within_tolerance():
    e = np.linspace(-1, 1, 7)
    check_close(e + 1e-12, e, "f(x)")


def test_report_has_errors_index_and_values():
    e = np.array([[1.0, 2.0], [3.0, 4.0]])
    a = e.copy()
    a[1, 0] = 3.5
    text = report(a, e, inputs={"x": np.zeros((2, 2))})
    assert "Mismatched elements: 1 / 4" in text
    assert "Greatest absolute difference: 0.5 at index (1, 0)" in text
    assert "First mismatch at index (1, 0): expected 3, got 3.5" in text
    assert "x of shape (2, 2)" in text


def test_all_zeros_does_not_pass_a_small_gradient():
    e = np.full(5, 1e-6)
    assert "values differ" in report(np.zeros(5), e)


@pytest.mark.parametrize("make,needle", [
    (lambda e: -e, "sign is flipped"),
    (lambda e: e.T, "transposed"),
    (lambda e: 3 * e, "3 times the expected"),
    (lambda e: e + 0.5, "off by the same constant"),
    (lambda e: e.ravel()[::-1].reshape(e.shape), "the right values in the wrong places"),
    (lambda e: e.ravel(), "keepdims"),
    (lambda e: e + np.zeros((1, 3)), "broadcast"),  # (3, 1) + (1, 3) -> (3, 3)
])
def test_generic_hints(make, needle):
    rng = np.random.default_rng(0)
    e = rng.normal(size=(3, 1) if needle in ("keepdims", "broadcast") else (3, 3))
    assert needle in report(make(e), e)


def test_factor_hint_names_the_mistake():
    e = np.array([1.0, 2.0, -4.0])
    assert "did you forget 1/m" in report(e * 8, e, factors={8: "did you forget 1/m"})


def test_specific_mistake_hint_wins():
    e = np.array([0.2, 0.7])
    wrong = np.array([0.8, 0.3])
    assert "sigmoid(-z)" in report(wrong, e, mistakes={"sigmoid(-z)": wrong})


def test_mistakes_given_as_a_function_are_worked_out_only_for_a_wrong_value():
    e = np.array([0.2, 0.7])
    wrong = np.array([0.8, 0.3])
    asked = []

    def mistakes():
        asked.append(1)
        return {"sigmoid(-z)": wrong}

    check_close(e.copy(), e, "right", mistakes=mistakes)
    assert asked == []
    assert "sigmoid(-z)" in report(wrong, e, mistakes=mistakes)
    assert asked == [1]


def test_nan_is_reported_as_overflow():
    e = np.array([1.0, 0.0])
    assert "NaN or inf at index (1,)" in report(np.array([1.0, np.nan]), e)


def test_wrong_types():
    e = np.ones((2, 1))
    assert "returned None" in report(None, e)
    assert "expected shape (2, 1), got (1, 2)" in report(np.ones((1, 2)), e)
    assert "dtype" in report(np.array(["a", "b"]), np.ones(2))


def test_scalars_accept_numbers_and_refuse_wrapped_arrays():
    for ok in (0.5, np.float64(0.5), np.array(0.5), 1 / 2):
        check_scalar(ok, 0.5, "cost")
    check_scalar(0, 0.0, "b")
    with pytest.raises(Mismatch, match="np.squeeze"):
        check_scalar(np.array([0.5]), 0.5, "cost")
    with pytest.raises(Mismatch, match="expected a scalar"):
        check_scalar([0.5], 0.5, "cost")


def test_shape_hint_for_a_known_mistake():
    e = np.ones(4)
    text = report(np.ones((4, 3, 3)), e, shapes={(4, 3, 3): "db was not summed over the output positions"})
    assert "expected shape (4,), got (4, 3, 3)" in text and "db was not summed" in text


# -- the dtype rule: real numbers are compared by value, whatever their dtype ----------------


@pytest.mark.parametrize("make", [
    lambda e: np.frompyfunc(float, 1, 1)(e),            # an object array of Python floats
    lambda e: e.astype(object),
    lambda e: e.astype(np.complex128),                  # complex with a zero imaginary part
    lambda e: list(e),
], ids=["frompyfunc", "object", "complex-real", "list"])
def test_exact_values_in_another_dtype_pass(make):
    e = np.array([0.25, -1.5, 3.0])
    check_close(make(e), e, "f(x)")


def test_ints_bools_and_float32_compare_by_value():
    check_close(np.array([1, 0, 1]), np.array([1.0, 0.0, 1.0]), "predict")
    check_close(np.array([True, False]), np.array([1.0, 0.0]), "predict")
    e = np.array([1 / 3, 2 / 3])
    check_close(e.astype(np.float32), e, "f(x)", rtol=1e-6)      # within the tolerance: exact enough
    text = report(e.astype(np.float32), e, rtol=1e-9)
    assert "float32" in text and "float64" in text               # beyond it: the rounding is named


@pytest.mark.parametrize("value,reason", [
    (np.array(["0.5", "1.0"]), "strings"),
    (np.array([0.5, None], dtype=object), "got None at index (1,)"),
    (np.array([0.5, "x"], dtype=object), "a string ('x') at index (1,)"),
    (np.array([0.5, 1 + 2j]), "a complex number with a nonzero imaginary part (1+2j) at index (1,)"),
    ([0.5, None], "got None at index (1,)"),
])
def test_values_that_are_not_real_numbers_fail_with_the_reason(value, reason):
    assert reason in report(value, np.array([0.5, 1.0]))


def test_scalars_that_are_not_real_numbers_fail_with_the_reason():
    with pytest.raises(Mismatch, match="nonzero imaginary part"):
        check_scalar(1 + 2j, 1.0, "cost")
    with pytest.raises(Mismatch, match="a string"):
        check_scalar(np.array("0.5"), 0.5, "cost")
    check_scalar(np.array(0.5, dtype=object), 0.5, "cost")
    check_scalar(0.5 + 0j, 0.5, "cost")


# -- readable numbers -------------------------------------------------------------------------


def test_numbers_read_as_numbers():
    text = report(np.array(np.nan), np.array(2.2626))
    assert "Got nan" in text and "expected 2.2626" in text and "np.float64" not in text
    assert "index ()" not in text
    text = report(np.float64(2.0), np.float64(2.2626), inputs={"lr": np.float64(0.5)})
    assert "lr=0.5" in text and "index ()" not in text and "np." not in text
    assert "-inf" in report(np.array([1.0, -np.inf]), np.array([1.0, 2.0]))


def test_counts_agree_with_their_noun():
    assert "(1 such entry)" in report(np.array([1.0, np.nan]), np.array([1.0, 0.0]))
    assert "(2 such entries)" in report(np.array([np.nan, np.nan]), np.array([1.0, 0.0]))


# -- hints only when the value is the mistake's -------------------------------------------------


def test_a_mistake_modelled_by_its_inf_or_nan_is_named():
    e = np.array([1.0, 2.0])
    assert "log of zero" in report(np.array([1.0, np.inf]), e, mistakes={"log of zero": np.array([1.0, np.inf])})
    assert "empty" in report(np.array([np.nan, 2.0]), e, mistakes={"empty": np.array([np.nan, 2.0])})
    # a finite wrong value does not match a mistake whose value is inf
    assert "log of zero" not in report(np.array([1.0, 7.0]), e, mistakes={"log of zero": np.array([1.0, np.inf])})


def test_all_zeros_and_an_input_returned_unchanged_are_named():
    e = np.array([[0.5, -1.0], [2.0, 0.25]])
    assert "every value is 0" in report(np.zeros((2, 2)), e)
    dout = np.array([[1.0, 3.0], [-2.0, 4.0]])
    assert "equals the input dout, unchanged" in report(dout.copy(), e, inputs={"dout": dout})


def test_nonfinite_hint_replaces_the_general_one():
    text = report(np.array([np.nan, 1.0]), np.array([1.0, 1.0]), nonfinite_hint="an empty window")
    assert "an empty window" in text and "overflow" not in text
