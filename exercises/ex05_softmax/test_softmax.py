"""Grader for ex05_softmax: softmax, log_softmax and the cross-entropy against torch.

The oracle is ``torch.softmax``, ``torch.log_softmax`` and
``F.cross_entropy`` (mean over N) with autograd for dlogits, in float64;
labels are converted to int64 for torch (the student gets them as int64 or
int32). Points, tolerances and limits are in exercise.yaml.
"""

import re

import numpy as np
import torch
import torch.nn.functional as F

from grader.compare import GradingFailure, diagnose, fmt_number, hint_lines
from grader.sandbox.client import StudentError

GENERIC_FACTOR = re.compile(r"^(Hint: a missing or extra constant factor\?|  \(here every value is \S+ times the)")

MAX_HINT = ("np.exp overflows to inf above ~709 (then inf / inf = NaN) and underflows to 0 below ~-745 "
            "(then 0 / 0 = NaN): subtract the maximum along the axis first, "
            "z - np.max(z, axis=axis, keepdims=True). That changes nothing mathematically, and the largest "
            "exponent becomes exp(0) = 1. The maximum of the whole array is not enough when rows differ "
            "by more than ~700")
LOG_HINT = (". Then compute log_softmax directly as shifted - np.log(np.sum(np.exp(shifted), axis=axis, "
            "keepdims=True)) with shifted = z - max: np.log(softmax(z)) is log(0) = -inf wherever a "
            "probability underflows to 0")
KEEPDIMS_HINT = ("a sum or max along an axis drops that axis, and the result no longer broadcasts against z: "
                 "keep it with keepdims=True, e.g. np.sum(e, axis=axis, keepdims=True)")
INDEX_HINT = ("logits has shape (N, C): row n is example n, so pick the correct classes with "
              "[np.arange(N), labels] and build a one-hot with one_hot[np.arange(N), labels] = 1 "
              "(or np.eye(C)[labels]), not [labels, np.arange(N)]")

# Logits up to 1e4 in magnitude: rows far above, far below and mixed, so that
# np.exp without a shift overflows (inf / inf) or underflows (0 / 0), and the
# shift must be per row. No two entries of a row or a column are equal.
EXTREME = np.array([
    [1e4, -1e4, 5e3, 0.0, 9999.0],
    [-1e4 + 0.5, -9999.0, -9998.0, -9997.0, -9996.5],
    [9999.5, 9998.0, 9998.5, 1e4 - 3.0, 1e4 - 0.25],
    [-3.0, 2.0, 0.5, 1e3, -1e3],
])


# -- helpers --------------------------------------------------------------------


def call(student, func, *args):
    """student.call, with a hint added to the crashes that have a typical cause."""
    try:
        return student.call(func, *args)
    except StudentError as exc:
        hint = ""
        if "could not be broadcast" in exc.cause:
            hint = KEEPDIMS_HINT
        elif func == "softmax_cross_entropy" and "IndexError" in exc.cause and "\nHint: " not in exc.cause:
            hint = INDEX_HINT
        if hint:
            raise StudentError(f"{exc.cause}\nHint: {hint}", exc.details, kind=exc.kind) from None
        raise


def check_finite(check, value, expected, what, log=False, mistakes=None):
    """NaN or inf where the answer is finite: name the modelled mistake whose value it is, or
    explain the max shift (and the direct log_softmax)."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return  # check.close explains
    exp = np.asarray(expected.value, dtype=np.float64)
    if arr.shape != exp.shape:
        return
    bad = ~np.isfinite(arr) & np.isfinite(exp)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0]) if arr.ndim else ()
        where = f" at index {idx}" if arr.ndim else ""
        count = f" ({int(bad.sum())} {'entry is' if bad.sum() == 1 else 'entries are'} NaN or inf)" if arr.ndim else ""
        hint = diagnose(arr, exp, check.rtol, check.atol * float(np.max(np.abs(exp), initial=0.0)), mistakes)
        check.fail(f"{what}: got {fmt_number(arr[idx])}{where} where the answer is {fmt_number(exp[idx])}{count}"
                   "\n" + hint_lines(hint or MAX_HINT + (LOG_HINT if log else "")))


def scalar(check, actual, expected, what, **kwargs):
    """check.scalar, without the generic 'constant factor' guess: one number always has a ratio."""
    try:
        check.scalar(actual, expected, what, **kwargs)
    except GradingFailure as exc:
        lines = [line for line in str(exc).splitlines() if not GENERIC_FACTOR.match(line)]
        raise type(exc)("\n".join(lines)) from None


def other_axis(z, axis):
    """An axis of z other than ``axis`` (for 'wrong axis' hints), or None for 1-d z."""
    if z.ndim < 2:
        return None
    axis = axis % z.ndim
    return (axis + 1) % z.ndim if axis == z.ndim - 1 else z.ndim - 1


def softmax_mistakes(oracle, z, axis, log=False):
    fn = torch.log_softmax if log else torch.softmax
    name = "log_softmax" if log else "softmax"
    out = {}
    if log:
        out["you returned softmax(z), not its logarithm"] = oracle(lambda t: torch.softmax(t, axis), z)
        out["you returned z - max(z): subtract log(sum(exp(z - max))) as well"] = \
            oracle(lambda t: t - t.amax(axis, keepdim=True), z)
    else:
        out["you returned log_softmax(z): softmax is exp(z - max) / sum(exp(z - max))"] = \
            oracle(lambda t: torch.log_softmax(t, axis), z)
    if z.ndim > 1:
        global_sum = ("the sum has no axis, so the whole array is normalised at once: sum along the axis, "
                      "np.sum(e, axis=axis, keepdims=True)")
        if log:
            out[global_sum] = oracle(lambda t: (t - t.amax(axis, keepdim=True))
                                     - torch.log(torch.exp(t - t.amax(axis, keepdim=True)).sum()), z)
        else:
            out[global_sum] = oracle(lambda t: torch.exp(t - t.amax(axis, keepdim=True))
                                     / torch.exp(t - t.amax(axis, keepdim=True)).sum(), z)
            out[global_sum + " (here without the max shift: e = np.exp(z))"] = \
                oracle(lambda t: torch.exp(t) / torch.exp(t).sum(), z)
    other = other_axis(z, axis)
    if other is not None:
        where = "the last axis" if other == z.ndim - 1 else f"axis {other}"
        out[f"this is {name} along another axis than the one given: use the `axis` argument in both "
            f"the max and the sum (with keepdims=True) (here along {where}, not along axis={axis})"] = \
            oracle(lambda t: fn(t, other), z)
        if z.ndim == 2:
            out[f"you subtracted the maximum along another axis than the one you normalised along: "
                f"use np.max(z, axis=axis, keepdims=True) (here the max along axis {other}, the sum along "
                f"axis={axis})"] = \
                oracle(lambda t: fn(t - t.amax(other, keepdim=True), axis), z)
            if z.shape[0] == z.shape[1] and axis % 2 == 1 and not log:
                # Without keepdims, the (n,) row maxima or sums broadcast along the wrong axis.
                variants = {
                    " (here in the sum, without the max shift)": lambda t: torch.exp(t),
                    " (here in the sum)": lambda t: torch.exp(t - t.amax(1, keepdim=True)),
                    " (here in the max and the sum)": lambda t: torch.exp(t - t.amax(1)[None, :]),
                }
                for where, numerator in variants.items():
                    out["a max or sum without keepdims=True: the (n,) result broadcasts along the "
                        f"wrong axis; use np.sum(e, axis=axis, keepdims=True){where}"] = \
                        oracle(lambda t, e=numerator: e(t) / e(t).sum(1)[None, :], z)
    return out


def check_softmax(student, oracle, check, z, axis, log=False, extreme=False):
    name = "log_softmax" if log else "softmax"
    what = f"{name}(z, {axis}) for z of shape {z.shape}" + (" with entries up to 1e4" if extreme else "")
    result = call(student, name, z, axis)
    expected = oracle(lambda t: (torch.log_softmax if log else torch.softmax)(t, axis), z)
    check_finite(check, result.value, expected, what, log=log)
    check.close(result.value, expected, what, inputs={"z": z}, mistakes=softmax_mistakes(oracle, z, axis, log))
    if extreme:
        check.no_warnings(result, what)


def random_logits(rng, shape, scale=3.0):
    return rng.normal(scale=scale, size=shape)


# -- softmax and log_softmax ------------------------------------------------------

LAST_AXIS = [(4, 5), (4, 4), (1, 3), (6, 2), (3, 1000), (7,)]
OTHER_AXES = [((5, 4), 0), ((3, 4), 1), ((2, 3, 4), 1), ((3, 2, 5), 0)]


def test_softmax_last_axis(student, oracle, check, rng):
    for shape in LAST_AXIS:
        check_softmax(student, oracle, check, random_logits(rng, shape), -1)


def test_softmax_other_axes(student, oracle, check, rng):
    for shape, axis in OTHER_AXES:
        check_softmax(student, oracle, check, random_logits(rng, shape), axis)


def test_softmax_large_logits(student, oracle, check, rng):
    for z, axis in ((EXTREME, -1), (EXTREME, 0), (EXTREME.T.copy(), 0), (1e4 + random_logits(rng, (3, 6)), -1)):
        check_softmax(student, oracle, check, z, axis, extreme=True)


def test_log_softmax(student, oracle, check, rng):
    for shape, axis in [((4, 5), -1), ((1, 3), -1), ((3, 1000), -1), ((7,), -1), ((5, 4), 0), ((2, 3, 4), 1)]:
        check_softmax(student, oracle, check, random_logits(rng, shape), axis, log=True)


def test_log_softmax_large_logits(student, oracle, check, rng):
    for z, axis in ((EXTREME, -1), (EXTREME, 0), (-1e4 + random_logits(rng, (3, 6)), -1)):
        check_softmax(student, oracle, check, z, axis, log=True, extreme=True)


# -- softmax_cross_entropy ---------------------------------------------------------


def oracle_ce(logits, labels):
    logits = logits.clone().requires_grad_(True)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    return {"loss": loss, "dlogits": logits.grad}


def make_ce_case(rng, n, c, dtype=np.int64, scale=2.0, offset=0.0):
    logits = offset + rng.normal(scale=scale, size=(n, c))
    labels = rng.integers(0, c, size=n).astype(dtype)
    if n == c and n > 1:
        # A transposed one-hot must differ from the right one.
        while np.array_equal(np.eye(c)[labels], np.eye(c)[labels].T):
            labels = rng.integers(0, c, size=n).astype(dtype)
    return logits, labels


NO_KEEPDIMS = ("the row maxima or sums lost their axis (no keepdims=True) and broadcast along the wrong "
               "axis: use np.max(z, axis=1, keepdims=True) and np.sum(..., axis=1, keepdims=True)")


def no_keepdims_log_softmax(t):
    shifted = t - t.amax(1)[None, :]
    return shifted - torch.log(torch.exp(shifted).sum(1))[None, :]


def rows(t):
    return torch.arange(t.shape[0], device=t.device)


def loss_mistakes(oracle, logits, labels):
    n, c = logits.shape
    out = {
        "the loss uses log_softmax along axis 0 (over the examples): normalise each row, along axis 1":
            oracle(lambda t, y: -torch.log_softmax(t, 0)[rows(t), y].mean(), logits, labels),
    }
    if n == c:
        out["the one-hot (or the pick of the correct classes) is built along the wrong axis: "
            "use [np.arange(N), labels], row n and column labels[n]"] = \
            oracle(lambda t, y: -torch.log_softmax(t, 1)[y, rows(t)].mean(), logits, labels)
        out[NO_KEEPDIMS] = oracle(lambda t, y: -no_keepdims_log_softmax(t)[rows(t), y].mean(), logits, labels)
    return out


def dlogits_mistakes(oracle, logits, labels):
    n, c = logits.shape
    out = {
        "you returned softmax(logits) / N: subtract the one-hot of the labels, (softmax - one_hot) / N":
            oracle(lambda t, y: torch.softmax(t, 1) / n, logits, labels),
        "dlogits uses the softmax along axis 0 (over the examples): normalise each row, along axis 1":
            oracle(lambda t, y: (torch.softmax(t, 0) - F.one_hot(y, c)) / n, logits, labels),
    }
    if n == c:
        out["the one-hot is built along the wrong axis: one_hot[np.arange(N), labels] = 1 "
            "(shape (N, C), row n has its 1 in column labels[n]), e.g. np.eye(C)[labels]"] = \
            oracle(lambda t, y: (torch.softmax(t, 1) - F.one_hot(y, c).T) / n, logits, labels)
        out[NO_KEEPDIMS] = oracle(lambda t, y: (torch.exp(no_keepdims_log_softmax(t)) - F.one_hot(y, c)) / n,
                                  logits, labels)
    return out


# -log(p + eps) or -log(np.clip(p, eps, 1 - eps)): the epsilons seen in real code.
EPSILONS = [1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-12, 1e-15, 1e-16, float(np.finfo(np.float64).eps), 1e-20,
            1e-30, 1e-100, 1e-300]


def far_row_mistakes(oracle, logits, labels):
    """The loss from the probabilities, where a correct class's probability underflows to 0."""
    def from_probability(t, y, eps):
        p = torch.softmax(t, 1)[rows(t), y]
        return -torch.log(p + eps).mean()

    out = {
        "the loss takes -log of a probability, and a correct class more than 745 below its row's maximum has a "
        "probability below exp(-745), which is 0 in float64, so -log(0) = inf: compute the loss from log_softmax, "
        "-(z[y] - max) + log(sum(exp(z - max))), which is finite for any logits":
            oracle(lambda t, y: from_probability(t, y, 0.0), logits, labels),
    }
    for eps in EPSILONS:
        out["the loss of a row whose correct class has probability 0 (far below its row's maximum) is capped "
            "by the epsilon added to (or clipped into) the probability; the exact loss of that row is its gap "
            "to the log-sum-exp, in the thousands: compute the loss from log_softmax, "
            "-(z[y] - max) + log(sum(exp(z - max))), with no epsilon "
            f"(here the cap is -log({eps:.3g}) = {-np.log(eps):.4g})"] = \
            oracle(lambda t, y, e=eps: from_probability(t, y, e), logits, labels)
    return out


def loss_factors(n, c):
    factors = {}
    if n > 1:
        factors[float(n)] = "the loss is the mean over the N examples: divide the sum by N"
    if c > 1:
        factors[1.0 / c] = ("np.mean over the (N, C) array divides by N * C too: sum over the classes, "
                            "then average over the N examples")
    return factors


def dlogits_factors(n):
    return {float(n): "dlogits is the gradient of the MEAN loss: divide softmax(logits) - one_hot by N"} \
        if n > 1 else None


def run_ce(student, check, logits, labels):
    result = call(student, "softmax_cross_entropy", logits, labels)
    loss, dlogits = check.tuple(result.value, 2,
                                "softmax_cross_entropy(logits, labels) (it returns (loss, dlogits))")
    return result, loss, dlogits


def describe_case(logits, labels, label=""):
    n, c = logits.shape
    dtype = f", labels of dtype {labels.dtype}" if labels.dtype != np.int64 else ""
    return f" with N = {n}, C = {c}{dtype}{label}"


def check_loss(check, oracle, loss, logits, labels, label="", far_row=False):
    expected = oracle(oracle_ce, logits, labels)["loss"]
    what = "loss" + describe_case(logits, labels, label)
    mistakes = loss_mistakes(oracle, logits, labels)
    if far_row:
        mistakes.update(far_row_mistakes(oracle, logits, labels))
    check_finite(check, loss, expected, what, mistakes=mistakes)
    scalar(check, loss, expected, what, inputs={"logits": logits, "labels": labels},
                 mistakes=mistakes, factors=loss_factors(*logits.shape))


def check_dlogits(check, oracle, dlogits, logits, labels, label=""):
    expected = oracle(oracle_ce, logits, labels)["dlogits"]
    what = "dlogits" + describe_case(logits, labels, label)
    check_finite(check, dlogits, expected, what)
    check.close(dlogits, expected, what, inputs={"logits": logits, "labels": labels},
                mistakes=dlogits_mistakes(oracle, logits, labels), factors=dlogits_factors(logits.shape[0]))


def test_cross_entropy_loss(student, oracle, check, rng):
    for n, c in [(4, 4), (8, 5), (3, 7)]:
        logits, labels = make_ce_case(rng, n, c)
        _, loss, _ = run_ce(student, check, logits, labels)
        check_loss(check, oracle, loss, logits, labels)


def test_cross_entropy_dlogits(student, oracle, check, rng):
    for n, c in [(4, 4), (8, 5), (3, 7)]:
        logits, labels = make_ce_case(rng, n, c)
        _, _, dlogits = run_ce(student, check, logits, labels)
        check_dlogits(check, oracle, dlogits, logits, labels)


def test_cross_entropy_edge_cases(student, oracle, check, rng):
    cases = [
        (1, 5, np.int64, " (one example)"),
        (6, 2, np.int64, " (two classes)"),
        (3, 1000, np.int64, " (many classes)"),
        (5, 4, np.int32, ""),
        (1, 2, np.int32, " (one example, two classes)"),
    ]
    for n, c, dtype, label in cases:
        logits, labels = make_ce_case(rng, n, c, dtype=dtype)
        _, loss, dlogits = run_ce(student, check, logits, labels)
        check_loss(check, oracle, loss, logits, labels, label)
        check_dlogits(check, oracle, dlogits, logits, labels, label)


def test_cross_entropy_large_logits(student, oracle, check, rng):
    n, c = 7, 5
    logits, labels = make_ce_case(rng, n, c)
    logits += np.array([1e4, -1e4, 1e4, -1e4, 5e3, 0.0, 0.0])[:, None]
    # The last row's correct class is 5000 below that row's maximum: its probability
    # underflows to 0, and only a loss computed from log_softmax stays exact.
    logits[n - 1, labels[n - 1]] = logits[n - 1].max() - 5000.0
    label = " and logits up to 1e4 (the last row's correct class 5000 below its maximum)"
    result, loss, dlogits = run_ce(student, check, logits, labels)
    check_loss(check, oracle, loss, logits, labels, label, far_row=True)
    check_dlogits(check, oracle, dlogits, logits, labels, label)
    check.no_warnings(result, "softmax_cross_entropy(logits, labels) with logits up to 1e4")


def test_inputs_unchanged(student, check, rng):
    z = random_logits(rng, (4, 5))
    for func in ("softmax", "log_softmax"):
        check.no_mutation(call(student, func, z, -1), f"{func}(z, -1)", names=["z", "axis"])
    logits, labels = make_ce_case(rng, 5, 3)
    check.no_mutation(call(student, "softmax_cross_entropy", logits, labels),
                      "softmax_cross_entropy(logits, labels)", names=["logits", "labels"])
