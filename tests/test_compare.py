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
