"""Grader for ex07_pool: the student's pooling layers against F.max_pool2d, F.avg_pool2d and autograd.

Points, tolerances and limits are in exercise.yaml. Run with
``grader check ex07`` or ``pytest exercises/ex07_pool``.

Inputs have no ties: x is a random permutation of 0 .. n-1 plus a jitter in
[0.1, 0.9), scaled, so every entry differs from every other by at least
0.8 / n and each window has a single maximum. Where a test has windows that
overlap (stride < kernel), an input can be the maximum of several windows and
its gradients must add up. The backward pass always runs on the cache of the
student's own forward pass. A wrong shape is checked against the shapes that
known mistakes give (stride=None taken as 1, sizes rounded up, pairs
swapped, dx of the wrong size) before the values are compared.
"""

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader.compare import GradingFailure, ShapeMismatch, fmt_shape, hint_lines
from grader.expected import Expected
from grader.sandbox.client import StudentError
from grader.vjp import vjp


def pair(v):
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


@dataclass
class Case:
    N: int
    C: int
    H: int
    W: int
    kernel: object
    stride: object = None

    @property
    def k(self):
        return pair(self.kernel)

    @property
    def s(self):
        return pair(self.kernel if self.stride is None else self.stride)

    @property
    def out_hw(self):
        (kh, kw), (sh, sw) = self.k, self.s
        return (self.H - kh) // sh + 1, (self.W - kw) // sw + 1

    @property
    def args(self):
        return f"kernel_size={self.kernel!r}, stride={self.stride!r}"

    def x(self, rng):
        """Tie-free input: distinct values at least 0.8 / n apart, in about [-2, 2]."""
        n = self.N * self.C * self.H * self.W
        values = rng.permutation(n) + rng.uniform(0.1, 0.9, size=n)
        return ((values - n / 2) * (4.0 / n)).reshape(self.N, self.C, self.H, self.W)

    def dout(self, rng):
        return rng.normal(size=(self.N, self.C) + self.out_hw)


# Every check but test_pairs passes kernel_size and stride as plain ints (or stride=None),
# so code written for ints only (CS231n's pool_param) loses test_pairs and nothing else,
# and code written for pairs only loses the others.
# Non-overlapping windows (stride = kernel); the floor drops rows or columns in all but the first.
PLAIN = [Case(2, 3, 8, 6, 2, 2), Case(2, 2, 7, 9, 3, 3), Case(2, 2, 10, 7, 3, 3)]
# Overlapping windows (stride < kernel): gradients accumulate.
OVERLAP = [Case(2, 2, 7, 8, 3, 1), Case(2, 3, 9, 8, 3, 2), Case(1, 2, 8, 9, 2, 1), Case(2, 2, 9, 8, 3, 2)]
# stride=None: stride = kernel_size.
NONE = [Case(2, 3, 8, 6, 2, None), Case(2, 2, 7, 9, 3, None), Case(1, 2, 9, 11, 4, None)]
EDGE = [
    (Case(1, 1, 5, 7, 2, 2), "N = C = 1"),
    (Case(2, 2, 5, 5, 5, None), "a window as large as the input (1x1 output)"),
    (Case(2, 2, 5, 4, 1, 1), "a 1x1 window (out = x)"),
    (Case(2, 2, 9, 8, 2, 3), "a stride larger than the window (some inputs are in no window)"),
]
# kernel_size and stride as (h, w) pairs: non-square windows and strides, overlapping and not,
# stride=None with a pair, a window as wide as the input, and an equal pair.
PAIRS = [Case(2, 2, 7, 9, (2, 3), (2, 3)), Case(2, 2, 10, 7, (3, 2), (3, 2)), Case(2, 2, 7, 8, (3, 3), (1, 2)),
         Case(2, 3, 9, 8, (3, 2), (2, 1)), Case(1, 2, 8, 9, (2, 3), (1, 2)), Case(2, 2, 7, 9, (2, 3), None),
         Case(1, 2, 9, 11, (3, 4), None), Case(2, 2, 4, 6, (4, 6), None), Case(2, 1, 6, 5, (1, 5), (2, 1)),
         Case(2, 2, 6, 7, (2, 2), (2, 2))]
ALL = PLAIN + OVERLAP + NONE + [c for c, _ in EDGE]

KINDS = {
    "max": (F.max_pool2d, "max_pool2d_forward", "max_pool2d_backward"),
    "avg": (F.avg_pool2d, "avg_pool2d_forward", "avg_pool2d_backward"),
}


# -- the oracle ----------------------------------------------------------------


def oracle_forward(kind, case):
    pool = KINDS[kind][0]
    return lambda x: pool(x, case.kernel, case.stride)


def oracle_dx(kind, case, scale=1.0):
    pool = KINDS[kind][0]

    def dx(x, dout):
        x = x.clone().requires_grad_(True)
        vjp(pool(x, case.kernel, case.stride) * scale, dout)
        return x.grad
    return dx


def windows(case):
    """(i, j, index of window (i, j) in x) for every output position, row-major."""
    (kh, kw), (sh, sw) = case.k, case.s
    Ho, Wo = case.out_hw
    for i in range(Ho):
        for j in range(Wo):
            yield i, j, (slice(None), slice(None), slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw))


def overwritten_max_dx(case, x, dout, whole_window):
    """dx of a max-pool backward that assigns (=) instead of adding (+=)."""
    dx = np.zeros_like(x)
    for i, j, idx in windows(case):
        win = x[idx]
        mask = win == win.max(axis=(2, 3), keepdims=True)
        g = dout[:, :, i, j][:, :, None, None]
        if whole_window:
            dx[idx] = mask * g
        else:
            region = dx[idx]
            region[mask] = np.broadcast_to(g, mask.shape)[mask]
    return dx


def pool_with_steps(kind, case, x, steps):
    """out of the right shape whose window (i, j) starts at (i * steps[0], j * steps[1]):
    a stride used in the wrong direction. An empty window gives NaN (np.mean of nothing)."""
    (kh, kw), (Ho, Wo) = case.k, case.out_hw
    out = np.full(x.shape[:2] + (Ho, Wo), np.nan)
    for i in range(Ho):
        for j in range(Wo):
            win = x[:, :, i * steps[0]:i * steps[0] + kh, j * steps[1]:j * steps[1] + kw]
            if win.size:
                out[:, :, i, j] = win.max(axis=(2, 3)) if kind == "max" else win.mean(axis=(2, 3))
    return out


def pool_over_everything(kind, case, x):
    """out where each window was reduced without axis=(2, 3): over the batch and channels too."""
    out = np.empty(x.shape[:2] + case.out_hw)
    for i, j, idx in windows(case):
        out[:, :, i, j] = x[idx].max() if kind == "max" else x[idx].mean()
    return out


def overwritten_avg_dx(case, x, dout):
    dx = np.zeros_like(x)
    kh, kw = case.k
    for i, j, idx in windows(case):
        dx[idx] = dout[:, :, i, j][:, :, None, None] / (kh * kw)
    return dx


# -- hints ---------------------------------------------------------------------

WHOLE_WINDOW = ("the gradient was sent to every element of the window: in max pooling only the maximum of "
                "each window affects out, so only it receives dout (e.g. mask = (window == window.max()))")
OVERWRITTEN = ("overlapping windows overwrote each other's gradient: with stride < kernel_size an input can "
               "be in several windows (and the maximum of several), so add the contributions with += "
               "instead of assigning them with =")
STRIDE_NONE = "stride=None means stride = kernel_size (PyTorch's default), not 1"
KERNEL_SWAPPED = "the kernel's height and width are swapped: kernel_size=(KH, KW) is height first"
STRIDE_SWAPPED = "the stride pair is swapped: stride=(sh, sw) is height first"
KH_BOTH = ("the kernel's height KH was used for its width too: kernel_size=(KH, KW) is height first, and the "
           "width direction uses KW")
KW_BOTH = ("the kernel's width KW was used for its height too: kernel_size=(KH, KW) is height first, and the "
           "height direction uses KH")
EMPTY_WINDOW = ("a window of x is empty or cut short: the mean (or max) of an empty slice is NaN (np.max of one "
                "raises 'zero-size array'). Window (i, j) is x[:, :, i*sh:i*sh + KH, j*sw:j*sw + KW]: check that "
                "KH, KW, sh and sw are each used in their own direction, and that the output size is rounded "
                "down, H_out = (H - KH) // sh + 1")


def shape_candidates(case):
    """(key, (H_out, W_out), hint) for the output sizes that known mistakes give in ``case``."""
    H, W = case.H, case.W
    (kh, kw), (sh, sw) = case.k, case.s

    def floor(size, k, s):
        return (size - k) // s + 1

    def ceil(size, k, s):
        return -(-(size - k) // s) + 1

    def rounded(size, k, s):
        return round((size - k) / s) + 1

    formula = "H_out = (H - KH) // sh + 1 and W_out = (W - KW) // sw + 1"
    candidates = [
        ("stride", (floor(H, kh, 1), floor(W, kw, 1)),
         STRIDE_NONE if case.stride is None else f"the stride is ignored: {formula}"),
        ("ceil", (ceil(H, kh, sh), ceil(W, kw, sw)),
         f"the output size is rounded up (math.ceil, or round() of a fraction of .5 or more); PyTorch's "
         f"default (ceil_mode=False) rounds it down: {formula}; a partial window at the bottom or right edge "
         f"is dropped"),
        ("round", (rounded(H, kh, sh), rounded(W, kw, sw)),
         f"the output size is rounded to the nearest integer (round()); PyTorch's default rounds it down: "
         f"{formula} (integer division //)"),
    ]
    if case.stride is None:
        candidates.append(("kernel swapped, stride None", (floor(H, kw, kw), floor(W, kh, kh)),
                           KERNEL_SWAPPED + " (here stride=None, so (sh, sw) = (KH, KW) are swapped too)"))
    candidates += [
        ("kernel swapped", (floor(H, kw, sh), floor(W, kh, sw)), KERNEL_SWAPPED),
        ("stride swapped", (floor(H, kh, sw), floor(W, kw, sh)), STRIDE_SWAPPED),
        ("KH both", (floor(H, kh, sh), floor(W, kh, kh if case.stride is None else sw)), KH_BOTH),
        ("KW both", (floor(H, kw, kw if case.stride is None else sh), floor(W, kw, sw)), KW_BOTH),
        ("+1", ((H - kh) // sh, (W - kw) // sw), f"the + 1 is missing: {formula}"),
        ("hw swapped", tuple(reversed(case.out_hw)), "height and width are swapped: out has shape (N, C, H_out, W_out)"),
        ("out_h both", (case.out_hw[0],) * 2, "H_out was used for the width too (a reshape to (N, C, out_h, out_h), "
                                              "or W_out computed from H?): out has shape (N, C, H_out, W_out), and "
                                              "W_out differs from H_out here"),
        ("H both", (floor(H, kh, sh), floor(H, kw, sw)), "the input's height H was used for its width too: x has shape "
                                                         "(N, C, H, W), and W_out is computed from W"),
    ]
    return candidates


# Extra calls made only to tell apart the mistakes that give the same wrong shape in a failing
# case: ints, H != W, stride != kernel.
PROBES = [Case(1, 1, 9, 12, 2, 3), Case(1, 1, 11, 8, 3, 2)]


def _student_hw(student, kind, case):
    try:
        value = student.call(KINDS[kind][1], case.x(np.random.default_rng(0)), case.kernel, case.stride).value
    except StudentError:
        return None
    out = value[0] if isinstance(value, (tuple, list)) and len(value) == 2 else None
    return tuple(out.shape[2:]) if isinstance(out, np.ndarray) and out.ndim == 4 else None


def out_shape_hint(student, kind, case, shape):
    """The mistake(s) that explain a wrong output shape: the ones that give ``shape`` here and the
    sizes the student's code gives on a few other (int) arguments."""
    if len(shape) != 4 or tuple(shape[:2]) != (case.N, case.C):
        return ""
    got = tuple(shape[2:])
    found = [(key, hint) for key, hw, hint in shape_candidates(case) if hw == got and got != case.out_hw]
    for probe in PROBES if len(found) > 1 else ():
        seen = _student_hw(student, kind, probe)
        if seen is not None:
            sizes = {key: hw for key, hw, _ in shape_candidates(probe)}
            found = [(key, hint) for key, hint in found if sizes.get(key, probe.out_hw) == seen] or found
    if {"out_h both", "H both"} <= {key for key, _ in found}:
        # With a square kernel and stride the two give the same sizes everywhere: one mistake, said once.
        found = [(key, hint) for key, hint in found if key != "H both"]
    hints = list(dict.fromkeys(hint for _, hint in found))
    if not hints:
        return ""
    # Mistakes that the shapes cannot tell apart are all named.
    return hints[0] if len(hints) == 1 else "one of these mistakes gives these sizes: " + "; OR ".join(hints)


def dx_shape_hints(case):
    N, C, H, W = case.N, case.C, case.H, case.W
    (kh, kw), (sh, sw) = case.k, case.s
    Ho, Wo = case.out_hw
    covered = ("dx must have x's shape (N, C, H, W); rows and columns that no window covers (dropped by the "
               "floor, or skipped by a stride larger than the window) get a gradient of 0")
    hints = {
        (N, C, Ho, Wo): "dx has out's shape: spread each dout value back over its window of x; " + covered,
        (N, C, Ho * kh, Wo * kw): covered,
        (N, C, (Ho - 1) * sh + kh, (Wo - 1) * sw + kw): covered,
    }
    return {shape: hint for shape, hint in hints.items() if shape != (N, C, H, W)}


def swapped_variants(case):
    """Cases a student who swaps a pair computes instead, with the same output shape."""
    (kh, kw), (sh, sw) = case.k, case.s
    variants = {}
    if kh != kw and kw <= case.H and kh <= case.W:
        hint = KERNEL_SWAPPED + (" (here stride=None, so (sh, sw) = (KH, KW) are swapped too)" if case.stride is None else "")
        variants[hint] = Case(case.N, case.C, case.H, case.W, (kw, kh), case.stride)
    if case.stride is not None and sh != sw:
        variants[STRIDE_SWAPPED] = Case(case.N, case.C, case.H, case.W, case.kernel, (sw, sh))
    if kh != kw and kh <= case.W:
        variants[KH_BOTH] = Case(case.N, case.C, case.H, case.W, (kh, kh), case.stride)
    if kh != kw and kw <= case.H:
        variants[KW_BOTH] = Case(case.N, case.C, case.H, case.W, (kw, kw), case.stride)
    return {hint: v for hint, v in variants.items() if v.out_hw == case.out_hw}


def avg_factors(case):
    kh, kw = case.k
    factors = {kh * kw: "the sum of each window was not divided by the window size KH * KW"}
    if kh != kw:
        factors[kw / kh] = "divided by KH * KH instead of the window size KH * KW"
        factors[kh / kw] = "divided by KW * KW instead of the window size KH * KW"
    return factors


# -- calling the student -------------------------------------------------------

def close(check, actual, expected, what, *, shape_hints=None, inputs=None, **kwargs):
    """check.close, with a hint for the wrong shapes that known mistakes give."""
    exp_shape = np.shape(expected.value if isinstance(expected, Expected) else expected)
    if isinstance(actual, np.ndarray) and actual.shape != exp_shape:
        hint = shape_hints(actual.shape) if callable(shape_hints) else (shape_hints or {}).get(actual.shape)
        if hint:
            described = ", ".join(f"{k} of shape {fmt_shape(v.shape)}" if isinstance(v, np.ndarray)
                                  else f"{k}={v!r}" for k, v in (inputs or {}).items())
            raise ShapeMismatch(f"{what}: expected shape {fmt_shape(exp_shape)}, got {fmt_shape(actual.shape)}"
                                + (f"\nInputs: {described}" if described else "") + f"\n{hint_lines(hint)}")
        if len(exp_shape) == 4 and actual.ndim == 4 and actual.shape[:2] == tuple(exp_shape[:2]):
            raise ShapeMismatch(f"{what}: expected shape {fmt_shape(exp_shape)}, got {fmt_shape(actual.shape)}"
                                + "\nHint: the output size is wrong for these arguments: H_out = (H - KH) // sh + 1, "
                                  "W_out = (W - KW) // sw + 1 (sh, sw = the kernel size when stride=None)")
    check.close(actual, expected, what, inputs=inputs, nonfinite_hint=EMPTY_WINDOW, **kwargs)


def call(student, name, *args):
    """student.call, with a hint when a window turns out empty (np.max of a zero-size slice)."""
    try:
        return student.call(name, *args)
    except StudentError as exc:
        if "zero-size array" in exc.cause and "\nHint: " not in exc.cause:
            raise StudentError(f"{exc.cause}\nHint: {EMPTY_WINDOW}", exc.details, kind=exc.kind) from None
        raise


@contextmanager
def forward_shape_note(fname, out_shape, expected_shape):
    """When dx is wrong and the forward pass gave out a wrong shape, say so: fix the forward pass first."""
    try:
        yield
    except GradingFailure as exc:
        if out_shape is not None and tuple(out_shape) != tuple(expected_shape):
            raise GradingFailure(f"{exc}\nNote: your {fname} returned out of shape {fmt_shape(tuple(out_shape))} "
                                 f"instead of {fmt_shape(tuple(expected_shape))}, and the backward pass gets a dout "
                                 f"of the right shape: fix the forward pass (and its cache) first") from None
        raise


def inputs_of(case, x, dout=None):
    inputs = {"x": x}
    if dout is not None:
        inputs["dout"] = dout
    inputs.update(kernel_size=case.kernel, stride=case.stride)
    return inputs


def forward(student, check, kind, case, x):
    name = KINDS[kind][1]
    what = f"{name}(x, {case.args})"
    return check.tuple(call(student, name, x, case.kernel, case.stride).value, 2,
                       what + " (it must return (out, cache))")[0]


def backward(student, check, kind, case, x, dout):
    """The student's dx, computed from the cache of the student's own forward pass."""
    fname, bname = KINDS[kind][1:]
    what = f"{fname}(x, {case.args})"
    try:
        fwd = call(student, fname, x, case.kernel, case.stride)
    except StudentError as exc:
        raise StudentError(f"{bname} is graded on the cache your {fname} returns, and {what} failed: "
                           f"{exc.cause}", exc.details, exc.kind) from None
    out = check.tuple(fwd.value, 2, what + " (it must return (out, cache))")[0]
    return call(student, bname, dout, fwd.ref(1)).value, np.shape(out) if isinstance(out, np.ndarray) else None


def check_forward(student, oracle, check, kind, case, rng, label=""):
    x = case.x(rng)
    out = forward(student, check, kind, case, x)
    mistakes = {}
    factors = None
    if kind == "max":
        mistakes["this is the average of each window, not its maximum"] = oracle(oracle_forward("avg", case), x)
    else:
        mistakes["this is the maximum of each window, not its average"] = oracle(oracle_forward("max", case), x)
        factors = avg_factors(case)
    for hint, variant in swapped_variants(case).items():
        mistakes[hint] = oracle(oracle_forward(kind, variant), x)
    if case.N * case.C > 1:
        reduce = "np.max" if kind == "max" else "np.mean"
        mistakes[f"{reduce}(window) without an axis reduces over the batch and the channels too: reduce "
                 f"each window over its own rows and columns only, {reduce}(window, axis=(2, 3))"] = \
            pool_over_everything(kind, case, x)
    (sh, sw) = case.s
    if sh != sw:
        mistakes["the row stride sh was used for the columns too: window (i, j) starts at row i*sh and "
                 "column j*sw"] = pool_with_steps(kind, case, x, (sh, sh))
        mistakes["the column stride sw was used for the rows too: window (i, j) starts at row i*sh and "
                 "column j*sw"] = pool_with_steps(kind, case, x, (sw, sw))
    close(check, out, oracle(oracle_forward(kind, case), x), f"out of {KINDS[kind][1]}(x, {case.args}){label}",
          inputs=inputs_of(case, x), shape_hints=lambda shape: out_shape_hint(student, kind, case, shape),
          mistakes=mistakes, factors=factors)


def check_backward(student, oracle, check, kind, case, rng, label=""):
    x = case.x(rng)
    dout = case.dout(rng)
    dx, out_shape = backward(student, check, kind, case, x, dout)
    kh, kw = case.k
    mistakes = {}
    factors = None
    if kind == "max":
        mistakes[WHOLE_WINDOW] = oracle(oracle_dx("avg", case, scale=kh * kw), x, dout)
        mistakes[WHOLE_WINDOW + " (here: dout / (KH * KW) to each, the average pool's gradient)"] = \
            oracle(oracle_dx("avg", case), x, dout)
        mistakes[OVERWRITTEN] = overwritten_max_dx(case, x, dout, whole_window=False)
        mistakes[OVERWRITTEN + " (here: dx[window] = mask * dout also wiped out the gradient the earlier "
                               "windows gave to the other elements)"] = \
            overwritten_max_dx(case, x, dout, whole_window=True)
    else:
        mistakes[OVERWRITTEN] = overwritten_avg_dx(case, x, dout)
        mistakes["the gradient went to the maximum of each window only: that is max pooling's backward "
                 "pass; in average pooling every element of the window receives dout / (KH * KW)"] = \
            oracle(oracle_dx("max", case), x, dout)
        factors = avg_factors(case)
    for hint, variant in swapped_variants(case).items():
        mistakes[hint] = oracle(oracle_dx(kind, variant), x, dout)
    with forward_shape_note(KINDS[kind][1], out_shape, dout.shape):
        close(check, dx, oracle(oracle_dx(kind, case), x, dout), f"dx from {KINDS[kind][2]} ({case.args}){label}",
              inputs=inputs_of(case, x, dout), shape_hints=dx_shape_hints(case), mistakes=mistakes, factors=factors)


# -- the checks ------------------------------------------------------------------

def test_max_forward(student, oracle, check, rng):
    for case in PLAIN + OVERLAP:
        check_forward(student, oracle, check, "max", case, rng)


def test_max_backward(student, oracle, check, rng):
    for case in PLAIN:
        check_backward(student, oracle, check, "max", case, rng)


def test_max_backward_overlap(student, oracle, check, rng):
    for case in OVERLAP:
        check_backward(student, oracle, check, "max", case, rng, label=" (overlapping windows)")


def test_avg_forward(student, oracle, check, rng):
    for case in PLAIN + OVERLAP:
        check_forward(student, oracle, check, "avg", case, rng)


def test_avg_backward(student, oracle, check, rng):
    for case in PLAIN:
        check_backward(student, oracle, check, "avg", case, rng)


def test_avg_backward_overlap(student, oracle, check, rng):
    for case in OVERLAP:
        check_backward(student, oracle, check, "avg", case, rng, label=" (overlapping windows)")


def test_stride_none(student, oracle, check, rng):
    for case in NONE:
        for kind in KINDS:
            check_forward(student, oracle, check, kind, case, rng, label=" (stride=None: stride = kernel_size)")
            check_backward(student, oracle, check, kind, case, rng, label=" (stride=None: stride = kernel_size)")


def test_output_shapes(student, check, rng):
    for case in ALL:
        for kind in KINDS:
            x = case.x(rng)
            out = forward(student, check, kind, case, x)
            expected = (case.N, case.C) + case.out_hw
            if not isinstance(out, np.ndarray) or out.shape != expected:
                try:
                    shape = np.shape(out)
                except Exception:  # a ragged list: let check.close describe it
                    shape = None
                if shape != expected:
                    close(check, out, np.zeros(expected), f"out of {KINDS[kind][1]}(x, {case.args})",
                          inputs=inputs_of(case, x), shape_hints=lambda shape: out_shape_hint(student, kind, case, shape))


def test_pairs(student, oracle, check, rng):
    for case in PAIRS:
        for kind in KINDS:
            check_forward(student, oracle, check, kind, case, rng, label=" (pairs)")
            check_backward(student, oracle, check, kind, case, rng, label=" (pairs)")


def test_edge_cases(student, oracle, check, rng):
    for case, label in EDGE:
        for kind in KINDS:
            check_forward(student, oracle, check, kind, case, rng, label=f" with {label}")
            check_backward(student, oracle, check, kind, case, rng, label=f" with {label}")


def test_inputs_unchanged(student, check, rng):
    case = Case(2, 2, 7, 8, 3, 2)
    for kind in KINDS:
        fname, bname = KINDS[kind][1:]
        x = case.x(rng)
        fwd = student.call(fname, x, case.kernel, case.stride)
        check.no_mutation(fwd, f"{fname}(x, {case.args})", names=["x"])
        check.tuple(fwd.value, 2, f"{fname}(x, {case.args}) (it must return (out, cache))")
        check.no_mutation(student.call(bname, case.dout(rng), fwd.ref(1)), f"{bname}(dout, cache)",
                          names=["dout"])
