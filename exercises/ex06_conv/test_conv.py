"""Grader for ex06_conv: the student's convolution layer against F.conv2d and autograd.

Points, tolerances and limits are in exercise.yaml. Run with
``grader check ex06`` or ``pytest exercises/ex06_conv``.

Every case is small (H, W <= 12, N, C, F <= 4) so that a naive loop over every
output position grades well within the time limits. Inputs, kernels and
output gradients are random normal: a kernel is never symmetric, so a flipped
kernel (true convolution) cannot pass. The backward pass always runs on the
cache of the student's own forward pass. A wrong shape is checked against the
shapes that known mistakes give (output size rounded up, padding ignored or on
one side, stride ignored, pairs swapped, dx still padded or empty, db not
summed) before the values are compared, so that the hint names the mistake.
"""

import re
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pytest
import torch.nn.functional as F

from grader.compare import GradingFailure, ShapeMismatch, fmt_shape, hint_lines
from grader.expected import Expected
from grader.sandbox.client import StudentError
from grader.vjp import vjp


def pair(v) -> tuple[int, int]:
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


def out_size(size: int, k: int, s: int, p: int) -> int:
    return (size + 2 * p - k) // s + 1


@dataclass
class Case:
    N: int
    C: int
    H: int
    W: int
    F: int
    KH: int
    KW: int
    stride: object = 1
    padding: object = 0

    @property
    def out_hw(self) -> tuple[int, int]:
        (sh, sw), (ph, pw) = pair(self.stride), pair(self.padding)
        return out_size(self.H, self.KH, sh, ph), out_size(self.W, self.KW, sw, pw)

    def data(self, rng):
        x = rng.normal(size=(self.N, self.C, self.H, self.W))
        w = rng.normal(size=(self.F, self.C, self.KH, self.KW))
        b = rng.normal(size=(self.F,))
        return x, w, b

    def dout(self, rng):
        return rng.normal(size=(self.N, self.F) + self.out_hw)

    @property
    def args(self) -> str:
        return f"stride={self.stride!r}, padding={self.padding!r}"


# Stride 1, no padding; non-square inputs and kernels. In the second case
# W_out == F, so a bias added along the last axis broadcasts without an error.
BASIC = [Case(2, 3, 7, 9, 4, 3, 2), Case(3, 2, 7, 6, 4, 2, 3)]
# Every check but the two named after pairs passes stride and padding as plain ints,
# so code written for ints only (CS231n's conv_param) loses the pair checks and
# nothing else; code written for pairs only loses the others.
PADDING = [Case(2, 2, 6, 5, 3, 3, 3, 1, 1), Case(2, 3, 5, 7, 2, 3, 2, 1, 2), Case(2, 2, 5, 6, 3, 2, 3, 1, 3)]
# Strides that do not divide (H + 2p - KH) or (W + 2p - KW): the output sizes are rounded down.
STRIDE = [Case(2, 2, 8, 7, 3, 3, 2, 2, 0), Case(2, 3, 9, 8, 2, 2, 3, 3, 0),
          Case(1, 2, 11, 10, 3, 3, 3, 3, 1), Case(2, 2, 8, 11, 2, 3, 2, 2, 1)]
# Backward with strides and padding (overlapping and non-overlapping windows). The
# strides divide the padded sizes: rounding down is the business of the checks named
# after it (test_forward_stride, test_output_shapes and one edge case), so that code
# that asserts divisibility (as CS231n's does) loses those and nothing else.
STRIDED = [Case(2, 3, 9, 8, 3, 3, 2, 2, 1), Case(2, 2, 8, 9, 3, 2, 3, 2, 0),
           Case(3, 2, 8, 11, 2, 3, 3, 3, 2), Case(2, 2, 11, 8, 4, 2, 2, 3, 0)]
# stride and padding both as (h, w) pairs, unequal ones (one with a zero) and equal ones;
# the strides divide the padded sizes (see STRIDED).
PAIRS = [Case(2, 3, 5, 7, 2, 3, 2, (1, 1), (1, 2)), Case(2, 2, 5, 6, 3, 2, 3, (1, 1), (2, 0)),
         Case(2, 3, 9, 8, 2, 3, 3, (2, 1), (1, 1)), Case(2, 2, 8, 10, 3, 2, 3, (2, 3), (0, 1)),
         Case(3, 2, 8, 9, 2, 3, 3, (3, 2), (2, 1)), Case(2, 2, 7, 7, 3, 3, 3, (2, 2), (1, 1))]
EDGE = [
    (Case(1, 1, 5, 6, 1, 2, 3), "N = C = F = 1"),
    (Case(2, 3, 7, 9, 2, 1, 1, 2, 0), "a 1x1 kernel with stride 2"),
    (Case(2, 2, 4, 5, 3, 4, 5, 1, 0), "a kernel as large as the input (1x1 output)"),
    (Case(2, 2, 3, 4, 2, 2, 2, 1, 3), "padding wider than the kernel (windows of zeros only)"),
    (Case(2, 2, 11, 8, 2, 2, 2, 3, 0), "a stride larger than the kernel (some pixels are never used)"),
    (Case(2, 3, 8, 7, 3, 3, 2, 2, 1), "strides that do not divide the padded size (the last rows and columns "
                                      "are in no window)"),
]
# Extra calls made only to tell apart the mistakes that give the same wrong shape in a
# failing case (the stride ignored, or padding of another size?): ints only.
PROBES = [Case(1, 1, 9, 10, 1, 3, 2, 2, 1), Case(1, 1, 10, 9, 1, 2, 3, 3, 2), Case(1, 1, 8, 8, 1, 2, 2, 1, 0)]


# -- the oracle ----------------------------------------------------------------


def oracle_conv(stride, padding):
    return lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding)


def oracle_grads(stride, padding, flip=False, pad_end=False):
    """(dx, dw, db) by autograd; flip: of a true convolution; pad_end: all padding at the end."""
    def grads(x, w, b, dout):
        x, w, b = (t.clone().requires_grad_(True) for t in (x, w, b))
        kernel = w.flip(2, 3) if flip else w
        if pad_end:
            ph, pw = pair(padding)
            out = F.conv2d(F.pad(x, (0, 2 * pw, 0, 2 * ph)), kernel, b, stride=stride)
        else:
            out = F.conv2d(x, kernel, b, stride=stride, padding=padding)
        vjp(out, dout)
        return x.grad, w.grad, b.grad
    return grads


def oracle_grads_stride_ignored(padding):
    """dx and dw of a backward pass that places window (i, j) at (i, j) instead of (i*sh, j*sw)."""
    def grads(x, w, dout):
        ph, pw = pair(padding)
        H, W = x.shape[2:]
        Ho, Wo = dout.shape[2:]
        KH, KW = w.shape[2:]
        xp = F.pad(x, (pw, pw, ph, ph)).requires_grad_(True)
        w = w.clone().requires_grad_(True)
        vjp(F.conv2d(xp[:, :, :Ho + KH - 1, :Wo + KW - 1], w), dout)
        return xp.grad[:, :, ph:ph + H, pw:pw + W], w.grad
    return grads


def oracle_dx_wrong_crop(stride, padding):
    def dx(x, w, dout):
        ph, pw = pair(padding)
        H, W = x.shape[2:]
        xp = F.pad(x, (pw, pw, ph, ph)).requires_grad_(True)
        vjp(F.conv2d(xp, w, stride=stride), dout)
        return xp.grad[:, :, :H, :W]
    return dx


# -- hints ---------------------------------------------------------------------

FLIPPED = ("the kernel is flipped (a true convolution): F.conv2d, and this exercise, compute a "
           "cross-correlation, out[n, f, i, j] = sum x_pad[n, c, i*sh + a, j*sw + k] * w[f, c, a, k], "
           "with w as it is, not rotated by 180 degrees")
ONE_SIDE = ("x is padded on one side only: put ph rows of zeros above AND below, pw columns left AND right "
            "(x_pad has shape (N, C, H + 2*ph, W + 2*pw) and x_pad[:, :, ph:ph + H, pw:pw + W] = x)")
STRIDE_IGNORED = ("the backward pass ignores the stride: output position (i, j) saw the window that starts at "
                  "(i*sh, j*sw) of x_pad, so that is where its gradient goes (and the x_pad values dw uses)")


IM2COL = ("the im2col columns and the flattened kernel list (c, kh, kw) in different orders: flatten both "
          "the same way, e.g. each column x_pad[n, :, i*sh:i*sh + KH, j*sw:j*sw + KW].reshape(-1) against "
          "w.reshape(F, -1) (both channel first, then rows, then columns)")


def im2col_kernels(w):
    """The kernels a student effectively uses when the columns of im2col and the flattened
    kernel (C, KH, KW order) are laid out in different orders."""
    F_, C, KH, KW = w.shape
    return {
        "columns in (kh, kw, c) order": w.reshape(F_, KH, KW, C).permute(0, 3, 1, 2),
        "kernel flattened in (kh, kw, c) order": w.permute(0, 2, 3, 1).reshape(F_, C, KH, KW),
        "columns in (c, kw, kh) order": w.reshape(F_, C, KW, KH).transpose(2, 3),
    }


def permuted_dw(dw):
    """dw as im2col with mismatched orders gives it (the inverse of each im2col_kernels permutation)."""
    F_, C, KH, KW = dw.shape
    # NumPy, not torch: a hint's arithmetic must not import torch on a re-check the cache answers.
    return {
        "columns in (kh, kw, c) order": dw.transpose(0, 2, 3, 1).reshape(F_, C, KH, KW),
        "kernel flattened in (kh, kw, c) order": dw.reshape(F_, KH, KW, C).transpose(0, 3, 1, 2),
        "columns in (c, kw, kh) order": dw.swapaxes(2, 3).reshape(F_, C, KH, KW),
    }


OVERWRITE_DX = ("overlapping windows overwrote each other's gradient in dx: with stride < kernel size an input "
                "pixel is in several windows, so add each window's contribution with dx_pad[...] += ..., "
                "not dx_pad[...] = ...")
OVERWRITE_DW = ("dw holds one window's contribution only (dw[f] = ... instead of dw[f] += ... in the loop over "
                "examples and output positions): dw[f] sums x_pad's window times dout[n, f, i, j] over all of them")


def overwritten_grads(case, x, w, dout):
    """dx (two loop forms) and dw of a naive backward pass that assigns (=) where it should add (+=)."""
    (sh, sw), (ph, pw) = pair(case.stride), pair(case.padding)
    N, C, H, W = x.shape
    F_, _, KH, KW = w.shape
    Ho, Wo = dout.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    per_filter = np.zeros_like(x_pad)   # for n, f, i, j: dx_pad[n, :, win] = w[f] * dout[n, f, i, j]
    all_filters = np.zeros_like(x_pad)  # for n, i, j: dx_pad[n, :, win] = sum_f w[f] * dout[n, f, i, j]
    dw = np.zeros_like(w)
    dw_batch = np.zeros_like(w)        # for i, j: dw = sum_n dout[n, :, i, j] x window[n] (vectorized over n)
    for n in range(N):
        for f in range(F_):
            for i in range(Ho):
                for j in range(Wo):
                    win = (n, slice(None), slice(i * sh, i * sh + KH), slice(j * sw, j * sw + KW))
                    per_filter[win] = w[f] * dout[n, f, i, j]
                    dw[f] = x_pad[win] * dout[n, f, i, j]
        for i in range(Ho):
            for j in range(Wo):
                win = (n, slice(None), slice(i * sh, i * sh + KH), slice(j * sw, j * sw + KW))
                all_filters[win] = np.einsum("fckl,f->ckl", w, dout[n, :, i, j])
    i, j = Ho - 1, Wo - 1
    dw_batch[:] = np.einsum("nf,nckl->fckl", dout[:, :, i, j],
                            x_pad[:, :, i * sh:i * sh + KH, j * sw:j * sw + KW])
    crop = (slice(None), slice(None), slice(ph, ph + H), slice(pw, pw + W))
    return ({OVERWRITE_DX: all_filters[crop], OVERWRITE_DX + " (here also across the filters f)": per_filter[crop]},
            {OVERWRITE_DW: dw, OVERWRITE_DW + " (here: the last output position's)": dw_batch})


def forward_mistakes(oracle, case, x, w, b):
    s, p = case.stride, case.padding
    (sh, sw), (ph, pw) = pair(s), pair(p)
    mistakes = {
        FLIPPED: oracle(lambda x, w, b: F.conv2d(x, w.flip(2, 3), b, stride=s, padding=p), x, w, b),
        "the bias is missing: add b[f] to every output of filter f":
            oracle(lambda x, w: F.conv2d(x, w, None, stride=s, padding=p), x, w),
    }
    if case.out_hw[1] == case.F:
        mistakes["b was added along the last axis (the width), because b of shape (F,) broadcasts "
                 "against it: reshape it to (1, F, 1, 1), or add b[f] inside the loop over filters"] = \
            oracle(lambda x, w, b: F.conv2d(x, w, None, stride=s, padding=p) + b, x, w, b)
    if ph or pw:
        mistakes[ONE_SIDE + " (here all 2*pad zeros come after x: bottom and right)"] = \
            oracle(lambda x, w, b: F.conv2d(F.pad(x, (0, 2 * pw, 0, 2 * ph)), w, b, stride=s), x, w, b)
        mistakes[ONE_SIDE + " (here all 2*pad zeros come before x: top and left)"] = \
            oracle(lambda x, w, b: F.conv2d(F.pad(x, (2 * pw, 0, 2 * ph, 0)), w, b, stride=s), x, w, b)
    if ph != pw:
        mistakes["the padding pair is swapped: padding=(ph, pw) pads the height by ph and the width by pw"] = \
            oracle(lambda x, w, b: F.conv2d(x, w, b, stride=s, padding=(pw, ph)), x, w, b)
    if sh != sw:
        mistakes["the stride pair is swapped: stride=(sh, sw) steps sh rows down and sw columns right"] = \
            oracle(lambda x, w, b: F.conv2d(x, w, b, stride=(sw, sh), padding=p), x, w, b)
    for order in ("columns in (kh, kw, c) order", "kernel flattened in (kh, kw, c) order",
                  "columns in (c, kw, kh) order"):
        mistakes[f"{IM2COL} (here: {order})"] = oracle(
            lambda x, w, b, o=order: F.conv2d(x, im2col_kernels(w)[o], b, stride=s, padding=p), x, w, b)
    return mistakes


FORMULA = "H_out = (H + 2*ph - KH) // sh + 1, W_out = (W + 2*pw - KW) // sw + 1"


def _ceil_div(a, b):
    return -(-a // b)


SAME_PADDING = ("the padding was worked out as for padding='same' (Keras: H_out = ceil(H / sh); Holberton: "
                "ph = ((H - 1)*sh + KH - H) // 2, sometimes + 1), whatever padding was given: the curriculum's "
                f"padding is the number of zero rows (and columns) added on each side, and {FORMULA}")
# Output sizes that known mistakes give, as functions of (H, W, KH, KW, sh, sw, ph, pw).
SHAPE_MODELS = [
    (f"the output size is rounded up (math.ceil, or round() of a fraction of .5 or more); PyTorch rounds it "
     f"down: {FORMULA} (use integer division //: a window that would run past the padded input is dropped)",
     lambda H, W, KH, KW, sh, sw, ph, pw: (_ceil_div(H + 2 * ph - KH, sh) + 1, _ceil_div(W + 2 * pw - KW, sw) + 1)),
    (f"the output size is rounded to the nearest integer (round()); PyTorch rounds it down: {FORMULA} "
     f"(use integer division //, a window that would run past the padded input is dropped)",
     lambda H, W, KH, KW, sh, sw, ph, pw: (round((H + 2 * ph - KH) / sh) + 1, round((W + 2 * pw - KW) / sw) + 1)),
    (f"the padding is ignored: {FORMULA}",
     lambda H, W, KH, KW, sh, sw, ph, pw: (out_size(H, KH, sh, 0), out_size(W, KW, sw, 0))),
    (ONE_SIDE, lambda H, W, KH, KW, sh, sw, ph, pw: ((H + ph - KH) // sh + 1, (W + pw - KW) // sw + 1)),
    (f"the stride is ignored in the output size: {FORMULA}",
     lambda H, W, KH, KW, sh, sw, ph, pw: (H + 2 * ph - KH + 1, W + 2 * pw - KW + 1)),
    (SAME_PADDING, lambda H, W, KH, KW, sh, sw, ph, pw: (_ceil_div(H, sh), _ceil_div(W, sw))),
    (SAME_PADDING,
     lambda H, W, KH, KW, sh, sw, ph, pw: (out_size(H, KH, sh, ((H - 1) * sh + KH - H) // 2 + 1),
                                          out_size(W, KW, sw, ((W - 1) * sw + KW - W) // 2 + 1))),
    (SAME_PADDING,
     lambda H, W, KH, KW, sh, sw, ph, pw: (out_size(H, KH, sh, ((H - 1) * sh + KH - H) // 2),
                                          out_size(W, KW, sw, ((W - 1) * sw + KW - W) // 2))),
    ("the padding pair is swapped: padding=(ph, pw) pads the height by ph and the width by pw",
     lambda H, W, KH, KW, sh, sw, ph, pw: (out_size(H, KH, sh, pw), out_size(W, KW, sw, ph))),
    ("the stride pair is swapped: stride=(sh, sw) steps sh rows down and sw columns right",
     lambda H, W, KH, KW, sh, sw, ph, pw: (out_size(H, KH, sw, ph), out_size(W, KW, sh, pw))),
    ("the kernel's height and width are swapped: w has shape (F, C, KH, KW)",
     lambda H, W, KH, KW, sh, sw, ph, pw: (out_size(H, KW, sh, ph), out_size(W, KH, sw, pw))),
    ("the kernel's height KH was used for its width too: w has shape (F, C, KH, KW), so the width "
     "direction uses KW = w.shape[3]",
     lambda H, W, KH, KW, sh, sw, ph, pw: (out_size(H, KH, sh, ph), out_size(W, KH, sw, pw))),
    ("the kernel's width KW was used for its height too: w has shape (F, C, KH, KW), so the height "
     "direction uses KH = w.shape[2]",
     lambda H, W, KH, KW, sh, sw, ph, pw: (out_size(H, KW, sh, ph), out_size(W, KW, sw, pw))),
    ("the image's height H was used for its width too (x has shape (N, C, H, W)): W_out is computed from W",
     lambda H, W, KH, KW, sh, sw, ph, pw: (out_size(H, KH, sh, ph), out_size(H, KW, sw, pw))),
    (f"the + 1 is missing: {FORMULA}",
     lambda H, W, KH, KW, sh, sw, ph, pw: ((H + 2 * ph - KH) // sh, (W + 2 * pw - KW) // sw)),
    ("height and width are swapped: out has shape (N, F, H_out, W_out)",
     lambda H, W, KH, KW, sh, sw, ph, pw: (out_size(W, KW, sw, pw), out_size(H, KH, sh, ph))),
    ("H_out was used for the width too (a reshape to (N, F, out_h, out_h)?): out has shape "
     "(N, F, H_out, W_out), and W_out differs from H_out here",
     lambda H, W, KH, KW, sh, sw, ph, pw: (out_size(H, KH, sh, ph),) * 2),
    ("W_out was used for the height too (a reshape to (N, F, out_w, out_w)?): out has shape "
     "(N, F, H_out, W_out), and H_out differs from W_out here",
     lambda H, W, KH, KW, sh, sw, ph, pw: (out_size(W, KW, sw, pw),) * 2),
]


def _model_args(case):
    (sh, sw), (ph, pw) = pair(case.stride), pair(case.padding)
    return case.H, case.W, case.KH, case.KW, sh, sw, ph, pw


def _student_hw(student, case):
    """The (H_out, W_out) the student's forward pass gives for ``case``, or None if it gives no 4-d array."""
    x, w, b = case.data(np.random.default_rng(0))
    try:
        value = student.call("conv2d_forward", x, w, b, case.stride, case.padding).value
    except StudentError:
        return None
    out = value[0] if isinstance(value, (tuple, list)) and len(value) == 2 else None
    return tuple(out.shape[2:]) if isinstance(out, np.ndarray) and out.ndim == 4 else None


def out_shape_hint(student, case, shape) -> str:
    """The mistake(s) that explain a wrong output shape: the ones that give ``shape`` here and the
    shapes the student's forward pass gives on a few other (int) arguments; else the formula."""
    if len(shape) != 4 or tuple(shape[:2]) != (case.N, case.F):
        return ""
    got = tuple(shape[2:])
    candidates = [(hint, model) for hint, model in SHAPE_MODELS
                  if model(*_model_args(case)) == got and got != case.out_hw]
    for probe in PROBES if candidates else ():
        seen = _student_hw(student, probe)
        if seen is not None:
            candidates = [(hint, model) for hint, model in candidates if model(*_model_args(probe)) == seen]
    if candidates:
        hints = list(dict.fromkeys(hint for hint, _ in candidates))
        return hints[0] if len(hints) == 1 else "one of these mistakes gives these sizes: " + "; OR ".join(hints)
    return (f"the output size is wrong for these arguments: {FORMULA}, here "
            f"{fmt_shape(case.out_hw)} (your code gives {fmt_shape(got)})")


def dx_shape_hints(case) -> dict:
    N, C, H, W = case.N, case.C, case.H, case.W
    ph, pw = pair(case.padding)
    hints = {}
    if (ph, pw) != (1, 1):
        hints[(N, C, H + 2 * ph - 2, W + 2 * pw - 2)] = (
            "dx was cut out of dx_pad with a fixed border of 1 (dx_pad[:, :, 1:-1, 1:-1]): remove the "
            "padding that was added, dx = dx_pad[:, :, ph:ph + H, pw:pw + W]")
    if ph or pw:
        hints[(N, C, H + 2 * ph, W + 2 * pw)] = (
            "dx still includes the padding: return the gradient of the padded input without its "
            "border, dx_pad[:, :, ph:ph + H, pw:pw + W]")
        hints.setdefault((N, C, H + ph, W + pw),
                         "the padding was removed on one side only: dx = dx_pad[:, :, ph:ph + H, pw:pw + W]")
    return hints


def db_shape_hints(case) -> dict:
    Ho, Wo = case.out_hw
    total = "db[f] is the sum of dout[:, f] over the batch AND every output position: db = dout.sum(axis=(0, 2, 3))"
    hints = {
        (case.F, Ho, Wo): "db was summed over the batch only, not over the output positions: " + total,
        (case.N, case.F): "db was summed over the output positions but not over the batch: " + total,
        (case.F, Ho): "db was not summed over the width: " + total,
        (case.F, Wo): "db was not summed over the height: " + total,
    }
    return {shape: hint for shape, hint in hints.items() if shape != (case.F,)}


def db_mistakes(case, dout):
    positions = ("db holds the gradient of one output position only (db = ... instead of db += ... in a loop "
                 "over positions?): db[f] is the sum of dout[:, f] over the batch AND every output position")
    return {
        positions + " (here: the last one)": dout[:, :, -1, -1].sum(axis=0),
        positions + " (here: the first one)": dout[:, :, 0, 0].sum(axis=0),
        "db holds the gradient of the last example only (db = ... instead of db += ... in the loop over the "
        "batch?): sum over the batch too": dout[-1].sum(axis=(1, 2)),
    }


def db_factors(case):
    Ho, Wo = case.out_hw
    return {
        1 / (Ho * Wo): "db was averaged over the output positions: sum over them instead",
        1 / case.N: "db was divided by N: the gradient of b sums dout over the batch (any mean is "
                    "already inside dout)",
        1 / (case.N * Ho * Wo): "db is the mean of dout over (N, H_out, W_out); it must be the sum",
    }


# -- calling the student ---------------------------------------------------------

def inputs_of(case, x, w, dout=None) -> dict:
    inputs = {"x": x, "w": w}
    if dout is not None:
        inputs["dout"] = dout
    inputs.update(stride=case.stride, padding=case.padding)
    return inputs


def close(check, actual, expected, what, *, shape_hints=None, inputs=None, **kwargs):
    """check.close, with a hint for the wrong shapes that known mistakes give."""
    exp_shape = np.shape(expected.value if isinstance(expected, Expected) else expected)
    if isinstance(actual, np.ndarray) and actual.shape != exp_shape:
        hint = shape_hints(actual.shape) if callable(shape_hints) else (shape_hints or {}).get(actual.shape)
        if not hint and actual.size == 0 and len(exp_shape) == 4:
            hint = ("the result is empty: with padding 0 a slice like dx_pad[:, :, p:-p] is empty, because "
                    "-0 is 0; slice dx_pad[:, :, ph:ph + H, pw:pw + W] instead")
        if hint:
            described = ", ".join(f"{k} of shape {fmt_shape(v.shape)}" if isinstance(v, np.ndarray)
                                  else f"{k}={v!r}" for k, v in (inputs or {}).items())
            raise ShapeMismatch(f"{what}: expected shape {fmt_shape(exp_shape)}, got {fmt_shape(actual.shape)}"
                                + (f"\nInputs: {described}" if described else "") + f"\n{hint_lines(hint)}")
    check.close(actual, expected, what, inputs=inputs, **kwargs)


WINDOW_CRASH = ("a window of x_pad and the kernel have different shapes: a window that runs past the edge of "
                "the padded input (an output size rounded up with math.ceil or round(); PyTorch rounds it down, "
                "H_out = (H + 2*ph - KH) // sh + 1, W_out = (W + 2*pw - KW) // sw + 1), or the kernel's height "
                "and width (or a stride or padding pair) mixed up, or np.pad(x, p) padding the batch and channel "
                "axes too (pad only the last two: np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))))")


NOT_DIVISIBLE = ("an assert failed on a case where the stride does not divide the padded size (CS231n's assignment "
                 "asserts that it does): PyTorch, and this exercise, round the output size down instead, "
                 "H_out = (H + 2*ph - KH) // sh + 1, and the last rows or columns that fill no window are dropped")


def _has_run(shape, run) -> bool:
    return any(shape[i:i + len(run)] == run for i in range(len(shape) - len(run) + 1))


def square_window(cause, KH, KW):
    """The hint when a crash's shapes show a KW x KW (or KH x KH) window against the KH x KW kernel:
    a square kernel assumed, as `(f, f, C, F) = W.shape` does (it keeps the last f)."""
    if KH == KW:
        return ""
    shapes = [tuple(int(v) for v in re.findall(r"\d+", m)) for m in re.findall(r"\(([\d, ]+)\)", cause)]
    kernel = any(_has_run(sh, (KH, KW)) for sh in shapes)
    for size, which in ((KW, "width KW"), (KH, "height KH")):
        if kernel and any(_has_run(sh, (size, size)) for sh in shapes):
            other = "height" if which.startswith("width") else "width"
            return (f"a square kernel was assumed: the kernel's {which} was used for its {other} too (as "
                    "`(f, f, C, F) = W.shape` does, keeping the last f), so a window of f x f does not fit a "
                    "KH x KW kernel: w has shape (F, C, KH, KW), and the window is KH rows by KW columns")
    return ""


def call_forward(student, case, x, w, b):
    """student.call of conv2d_forward, with a hint when a window and the kernel do not fit together."""
    try:
        return student.call("conv2d_forward", x, w, b, case.stride, case.padding)
    except StudentError as exc:
        if "\nHint: " not in exc.cause and any(
                text in exc.cause for text in ("shape-mismatch", "could not be broadcast", "cannot reshape")):
            hint = square_window(exc.cause, w.shape[2], w.shape[3]) or WINDOW_CRASH
            raise StudentError(f"{exc.cause}\nHint: {hint}", exc.details, kind=exc.kind) from None
        (sh, sw), (ph, pw) = pair(case.stride), pair(case.padding)
        if "AssertionError" in exc.cause and ((case.H + 2 * ph - case.KH) % sh or (case.W + 2 * pw - case.KW) % sw):
            raise StudentError(f"{exc.cause}\nHint: {NOT_DIVISIBLE}", exc.details, kind=exc.kind) from None
        raise


def forward(student, check, case, x, w, b):
    what = f"conv2d_forward(x, w, b, {case.args})"
    return check.tuple(call_forward(student, case, x, w, b).value, 2,
                       what + " (it must return (out, cache))")[0]


def backward(student, check, case, x, w, b, dout):
    """The student's (dx, dw, db), computed from the cache of the student's own forward pass."""
    what = f"conv2d_forward(x, w, b, {case.args})"
    try:
        fwd = call_forward(student, case, x, w, b)
    except StudentError as exc:
        raise StudentError(f"conv2d_backward is graded on the cache your conv2d_forward returns, and "
                           f"{what} failed: {exc.cause}", exc.details, exc.kind) from None
    out = check.tuple(fwd.value, 2, what + " (it must return (out, cache))")[0]
    result = student.conv2d_backward(dout, fwd.ref(1))
    grads = check.tuple(result, 3, f"conv2d_backward(dout, cache) after {what} (it must return (dx, dw, db))")
    return grads, (out.shape if isinstance(out, np.ndarray) else None)


@contextmanager
def forward_shape_note(out_shape, expected_shape):
    """When a gradient is wrong and the forward pass gave out a wrong shape, say so: fix the forward pass first."""
    try:
        yield
    except GradingFailure as exc:
        if out_shape is not None and tuple(out_shape) != tuple(expected_shape):
            raise GradingFailure(f"{exc}\nNote: your conv2d_forward returned out of shape {fmt_shape(tuple(out_shape))} "
                                 f"instead of {fmt_shape(tuple(expected_shape))}, and the backward pass gets a dout "
                                 f"of the right shape: fix the forward pass (and its cache) first") from None
        raise


def check_forward(student, oracle, check, case, rng, label=""):
    x, w, b = case.data(rng)
    out = forward(student, check, case, x, w, b)
    close(check, out, oracle(oracle_conv(case.stride, case.padding), x, w, b),
          f"out of conv2d_forward(x, w, b, {case.args}){label}", inputs=inputs_of(case, x, w),
          shape_hints=lambda shape: out_shape_hint(student, case, shape),
          mistakes=forward_mistakes(oracle, case, x, w, b))


def check_backward(student, oracle, check, case, rng, parts="dx dw db", label=""):
    x, w, b = case.data(rng)
    dout = case.dout(rng)
    (dx, dw, db), out_shape = backward(student, check, case, x, w, b, dout)
    with forward_shape_note(out_shape, dout.shape):
        compare_grads(oracle, check, case, x, w, b, dout, dx, dw, db, parts, label)


def compare_grads(oracle, check, case, x, w, b, dout, dx, dw, db, parts, label):
    s, p = case.stride, case.padding
    expected = oracle(oracle_grads(s, p), x, w, b, dout)
    flipped = oracle(oracle_grads(s, p, flip=True), x, w, b, dout)
    sh, sw = pair(s)
    ph, pw = pair(p)
    ignored = oracle(oracle_grads_stride_ignored(p), x, w, dout) if (sh, sw) != (1, 1) else None
    one_side = oracle(oracle_grads(s, p, pad_end=True), x, w, b, dout) if (ph or pw) else None
    inputs = inputs_of(case, x, w, dout)
    after = f" from conv2d_backward ({case.args}){label}"
    overwritten_dx, overwritten_dw = overwritten_grads(case, x, w, dout)
    if "dx" in parts:
        mistakes = {FLIPPED: flipped[0], **overwritten_dx}
        if ignored is not None:
            mistakes[STRIDE_IGNORED] = ignored[0]
        if one_side is not None:
            mistakes[ONE_SIDE] = one_side[0]
            mistakes["dx was cut out of dx_pad at the wrong place: dx = dx_pad[:, :, ph:ph + H, pw:pw + W]"] = \
                oracle(oracle_dx_wrong_crop(s, p), x, w, dout)
        close(check, dx, expected[0], "dx" + after, inputs=inputs, shape_hints=dx_shape_hints(case),
              mistakes=mistakes)
    if "dw" in parts:
        mistakes = {FLIPPED: flipped[1], **overwritten_dw}
        for order, value in permuted_dw(np.asarray(expected[1].value)).items():
            mistakes[f"{IM2COL} (here: {order})"] = value
        if ignored is not None:
            mistakes[STRIDE_IGNORED] = ignored[1]
        if one_side is not None:
            mistakes[ONE_SIDE] = one_side[1]
        shape_hints = {}
        if case.KH != case.KW:
            shape_hints[(case.F, case.C, case.KW, case.KH)] = \
                "the kernel's height and width are swapped: dw has w's shape (F, C, KH, KW)"
        close(check, dw, expected[1], "dw" + after, inputs=inputs, shape_hints=shape_hints, mistakes=mistakes,
              factors={1 / case.N: "dw was divided by N: the gradient sums over the batch (any mean is "
                                   "already inside dout)"})
    if "db" in parts:
        close(check, db, expected[2], "db" + after, inputs=inputs, shape_hints=db_shape_hints(case),
              mistakes=db_mistakes(case, dout), factors=db_factors(case))


# -- the checks ------------------------------------------------------------------

def test_forward_basic(student, oracle, check, rng):
    for case in BASIC:
        check_forward(student, oracle, check, case, rng)


def test_forward_padding(student, oracle, check, rng):
    for case in PADDING:
        check_forward(student, oracle, check, case, rng)


def test_forward_stride(student, oracle, check, rng):
    for case in STRIDE:
        check_forward(student, oracle, check, case, rng)


def test_forward_pairs(student, oracle, check, rng):
    for case in PAIRS:
        check_forward(student, oracle, check, case, rng)


def test_output_shapes(student, check, rng):
    for case in BASIC + PADDING + STRIDE + STRIDED + [c for c, _ in EDGE]:
        x, w, b = case.data(rng)
        out = forward(student, check, case, x, w, b)
        expected = (case.N, case.F) + case.out_hw
        if not isinstance(out, np.ndarray) or out.shape != expected:
            try:
                shape = np.shape(out)
            except Exception:  # a ragged list: let check.close describe it
                shape = None
            if shape != expected:
                close(check, out, np.zeros(expected), f"out of conv2d_forward(x, w, b, {case.args})",
                      inputs=inputs_of(case, x, w), shape_hints=lambda shape: out_shape_hint(student, case, shape))


def test_backward_simple(student, oracle, check, rng):
    for case in BASIC:
        check_backward(student, oracle, check, case, rng)


def test_backward_dx(student, oracle, check, rng):
    for case in STRIDED:
        check_backward(student, oracle, check, case, rng, parts="dx")


def test_backward_dw(student, oracle, check, rng):
    for case in STRIDED:
        check_backward(student, oracle, check, case, rng, parts="dw")


def test_backward_db(student, oracle, check, rng):
    for case in STRIDED:
        check_backward(student, oracle, check, case, rng, parts="db")


def test_backward_pairs(student, oracle, check, rng):
    for case in PAIRS:
        check_backward(student, oracle, check, case, rng)


def test_edge_cases(student, oracle, check, rng):
    for case, label in EDGE:
        check_forward(student, oracle, check, case, rng, label=f" with {label}")
        check_backward(student, oracle, check, case, rng, label=f" with {label}")


def test_inputs_unchanged(student, check, rng):
    case = Case(2, 2, 7, 8, 3, 3, 2, 2, 1)  # the stride divides the padded sizes (see STRIDED)
    x, w, b = case.data(rng)
    fwd = student.call("conv2d_forward", x, w, b, case.stride, case.padding)
    check.no_mutation(fwd, f"conv2d_forward(x, w, b, {case.args})", names=["x", "w", "b"])
    check.tuple(fwd.value, 2, f"conv2d_forward(x, w, b, {case.args}) (it must return (out, cache))")
    dout = case.dout(rng)
    check.no_mutation(student.call("conv2d_backward", dout, fwd.ref(1)), "conv2d_backward(dout, cache)",
                      names=["dout"])
