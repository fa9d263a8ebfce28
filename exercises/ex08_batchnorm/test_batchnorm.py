"""Grader for ex08_batchnorm: the student's NumPy batch norm against F.batch_norm and autograd.

Points, tolerances and limits are in exercise.yaml. Run with
``grader check ex08`` or ``pytest exercises/ex08_batchnorm``.

Every backward pass runs on the cache the student's own forward pass returned
(``fwd.ref(3)``); running statistics are fed back from the student's own
previous step.
"""

from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

from grader.compare import GradingFailure, ShapeMismatch, describe, fmt_shape
from grader.vjp import vjp

# -- hints -------------------------------------------------------------------

UNBIASED_NORM = ("you normalised with the unbiased variance (divide by n - 1): x_hat uses the biased "
                 "batch variance (divide by n, np.var's default); only the running variance is "
                 "updated with the unbiased one")
EPS_OUTSIDE = "eps is added outside the square root: x_hat = (x - mean) / sqrt(var + eps), not / (sqrt(var) + eps)"
NO_EPS = "eps is missing: x_hat = (x - mean) / sqrt(var + eps)"
PER_EXAMPLE = ("the statistics were taken per example (over axis 1): batch norm averages over the batch, "
               "axis 0, one mean and one variance per channel")
AXIS0_ONLY = ("the statistics were taken over axis 0 only (one per channel and pixel): for (N, C, H, W) "
              "input take them over axes (0, 2, 3), one mean and one variance per channel")
ALL_AXES = "the statistics were taken over the whole array: batch norm needs one mean and one variance per channel"
RESHAPE_NO_TRANSPOSE = ("x.reshape(-1, C) on (N, C, H, W) input mixes the channels: move the channel axis last "
                        "first, x.transpose(0, 2, 3, 1).reshape(-1, C), and undo both afterwards (or reduce "
                        "over axes (0, 2, 3) directly)")
GAMMA_BETA_SWAPPED = "gamma and beta are swapped: out = gamma * x_hat + beta"
NO_AFFINE = "you returned x_hat: scale it by gamma and shift it by beta (out = gamma * x_hat + beta)"

BIASED_RUN = ("the running variance was updated with the biased batch variance: PyTorch updates it with the "
              "unbiased one, var * n / (n - 1) with n = N for (N, C) input and n = N*H*W for (N, C, H, W)")
MOMENTUM_SWAPPED = ("the momentum convention is swapped: PyTorch computes new = (1 - momentum) * old + "
                    "momentum * batch (momentum weighs the NEW statistic; CS231n and Keras use "
                    "momentum * old + (1 - momentum) * batch)")
CS231N_RUN = ("this is CS231n's running update (momentum * old + (1 - momentum) * batch with the biased "
              "variance): PyTorch's is (1 - momentum) * old + momentum * batch, with the unbiased variance")
N_ONLY = ("the unbiased correction must count every value of a channel, n = N*H*W for (N, C, H, W) "
          "input, not n = N")
NO_UPDATE = "the running statistics came back unchanged in training mode: update them with the batch statistics"
NORM_VAR_IN_RUN = ("the running variance was updated with var + eps (or the standard deviation): use the "
                   "unbiased batch variance itself")

EVAL_BATCH = ("in eval mode (training=False) normalise with running_mean and running_var, not with the "
              "statistics of the batch")
EVAL_UPDATED = "in eval mode (training=False) the running statistics must come back unchanged: no update"

DGAMMA_NO_XHAT = ("dgamma without x_hat: out = gamma * x_hat + beta, so dgamma = sum of dout * x_hat over "
                  "the batch (and spatial) axes; sum(dout) alone is dbeta")
DGAMMA_X = "dgamma uses x instead of x_hat: dgamma = sum of dout * x_hat (the normalised input)"
DBETA_XHAT = "dbeta = sum of dout over the batch (and spatial) axes; you multiplied by x_hat"
DX_DIRECT = ("dx = dout * gamma / sqrt(var + eps) is only the direct term: the batch mean and variance "
             "depend on x too, which adds two more terms")
DX_NO_VAR_TERM = ("dx has the term through the batch mean but not the one through the batch variance: "
                  "subtract x_hat * mean(dx_hat * x_hat) as well")
DX_NO_MEAN_TERM = ("dx has the term through the batch variance but not the one through the batch mean: "
                   "subtract mean(dx_hat) as well")
DX_NO_GAMMA = "dx is missing the factor gamma: dL/dx_hat = dout * gamma"
DX_UNBIASED = ("dx is the gradient of a forward pass that normalises with the unbiased variance: "
               "the forward pass (and its cache) must use the biased batch variance")
DX_COUNT_N = ("dx divides the sums over each channel by N, the batch size: for (N, C, H, W) input the batch "
              "statistics average n = N*H*W values per channel, so divide by that n")
DX_N_MINUS_1 = "dx averages over n - 1 instead of n somewhere: the batch statistics are means over n values"

PER_CHANNEL = ("one value per channel: reduce over axis 0 for (N, C) input and over axes (0, 2, 3) for "
               "(N, C, H, W), without keepdims")


# -- inputs --------------------------------------------------------------------

def bshape(ndim):
    return (1, -1) + (1,) * (ndim - 2)


def make_x(rng, shape):
    """Channels of very different scales (one small enough that eps matters) and offsets."""
    c = shape[1]
    scales = np.geomspace(0.05, 4.0, c)
    rng.shuffle(scales)
    offsets = rng.uniform(-3.0, 3.0, c)
    return rng.normal(size=shape) * scales.reshape(bshape(len(shape))) + offsets.reshape(bshape(len(shape)))


def make_params(rng, c):
    gamma = rng.uniform(0.5, 2.0, c)
    beta = rng.normal(size=c)
    running_mean = rng.normal(size=c)
    running_var = rng.uniform(0.5, 2.0, c)
    return gamma, beta, running_mean, running_var


# -- oracle ----------------------------------------------------------------------

def torch_bn(x, gamma, beta, rm, rv, training, momentum, eps):
    rm, rv = rm.clone(), rv.clone()   # F.batch_norm updates the running statistics in place
    out = F.batch_norm(x, rm, rv, gamma, beta, training=training, momentum=momentum, eps=eps)
    return out, rm, rv


def torch_running(xs, gamma, beta, rm, rv, momentum, eps):
    """F.batch_norm on xs[0], xs[1], ... in turn: the running statistics after every step."""
    out = []
    for x in xs:
        _, rm, rv = torch_bn(x, gamma, beta, rm, rv, True, momentum, eps)
        out.append((rm, rv))
    return out


def chan_axes(x):
    return (0,) if x.dim() == 2 else (0, 2, 3)


def manual_bn(x, gamma, beta, rm, rv, training, momentum, eps, *, axes=None, norm_correction=0,
              eps_mode="inside", run="unbiased", swap=False, affine="right", eval_mode="running",
              run_var_plus_eps=False):
    """Batch norm written out, with knobs for the mistakes students make."""
    chan = chan_axes(x)
    axes = chan if axes is None else axes
    if training or eval_mode == "batch":
        mean = x.mean(dim=axes, keepdim=True)
        var = x.var(dim=axes, keepdim=True, correction=norm_correction)
    else:
        mean, var = rm.reshape(bshape(x.dim())), rv.reshape(bshape(x.dim()))
    std = {"inside": lambda: torch.sqrt(var + eps), "outside": lambda: torch.sqrt(var) + eps,
           "none": lambda: torch.sqrt(var)}[eps_mode]()
    x_hat = (x - mean) / std
    g, b = gamma.reshape(bshape(x.dim())), beta.reshape(bshape(x.dim()))
    out = {"right": lambda: g * x_hat + b, "swapped": lambda: b * x_hat + g, "none": lambda: x_hat}[affine]()
    new_rm, new_rv = rm.clone(), rv.clone()
    if (training or eval_mode == "updated") and axes == chan:
        n = x.numel() // x.shape[1]
        batch_mean = x.mean(dim=chan)
        batch_var = x.var(dim=chan, correction=0)
        if run_var_plus_eps:
            batch_var = batch_var + eps
        factor = {"unbiased": n / (n - 1), "biased": 1.0, "none": 1.0,
                  "N": x.shape[0] / (x.shape[0] - 1) if x.shape[0] > 1 else float("inf")}[run]
        old, new = (momentum, 1 - momentum) if swap else (1 - momentum, momentum)
        if run != "none":
            new_rm = old * rm + new * batch_mean
            new_rv = old * rv + new * batch_var * factor
    return out, new_rm, new_rv


def reshape_bn(x, gamma, beta, rm, rv, training, momentum, eps):
    """(N, C, H, W) input flattened with x.reshape(-1, C), without moving the channel axis last."""
    out, new_rm, new_rv = manual_bn(x.reshape(-1, x.shape[1]), gamma, beta, rm, rv, training, momentum, eps)
    return out.reshape(x.shape), new_rm, new_rv


def manual_running(xs, gamma, beta, rm, rv, momentum, eps, bn=manual_bn, **knobs):
    out = []
    for x in xs:
        _, rm, rv = bn(x, gamma, beta, rm, rv, True, momentum, eps, **knobs)
        out.append((rm, rv))
    return out


def forward_variants(x):
    """Wrong forward passes (knobs for manual_bn) that give a recognisable `out`."""
    variants = {
        UNBIASED_NORM: dict(norm_correction=1),
        EPS_OUTSIDE: dict(eps_mode="outside"),
        NO_EPS: dict(eps_mode="none"),
        GAMMA_BETA_SWAPPED: dict(affine="swapped"),
        NO_AFFINE: dict(affine="none"),
    }
    if x.ndim == 2:
        variants[PER_EXAMPLE] = dict(axes=(1,))
    else:
        variants[AXIS0_ONLY] = dict(axes=(0,))
        variants[ALL_AXES] = dict(axes=(0, 1, 2, 3))
    return variants


def out_mistakes(oracle, x, gamma, beta, rm, rv, training, momentum, eps):
    mistakes = {}
    for hint, knobs in forward_variants(x).items():
        if not training and "axes" in knobs:
            continue
        mistakes[hint] = oracle(partial(manual_bn, training=training, momentum=momentum, eps=eps, **knobs),
                                x, gamma, beta, rm, rv)[0]
    if x.ndim == 4:
        mistakes[RESHAPE_NO_TRANSPOSE] = oracle(partial(reshape_bn, training=training, momentum=momentum, eps=eps),
                                                x, gamma, beta, rm, rv)[0]
    if not training:
        mistakes[EVAL_BATCH] = oracle(partial(manual_bn, training=False, momentum=momentum, eps=eps,
                                              eval_mode="batch"), x, gamma, beta, rm, rv)[0]
    return mistakes


RUNNING_VARIANTS = {
    MOMENTUM_SWAPPED: dict(swap=True),
    CS231N_RUN: dict(swap=True, run="biased"),
    BIASED_RUN: dict(run="biased"),
    N_ONLY: dict(run="N"),
    NO_UPDATE: dict(run="none"),
    NORM_VAR_IN_RUN: dict(run_var_plus_eps=True),
    # Two mistakes at once, each on its own "Hint:" line (a summary counts each once).
    f"{MOMENTUM_SWAPPED}\nHint: {N_ONLY}": dict(swap=True, run="N"),
    f"{MOMENTUM_SWAPPED}\nHint: {NORM_VAR_IN_RUN}": dict(swap=True, run_var_plus_eps=True),
    f"{CS231N_RUN}\nHint: {NORM_VAR_IN_RUN}": dict(swap=True, run="biased", run_var_plus_eps=True),
    f"{BIASED_RUN}\nHint: {NORM_VAR_IN_RUN}": dict(run="biased", run_var_plus_eps=True),
    f"{N_ONLY}\nHint: {NORM_VAR_IN_RUN}": dict(run="N", run_var_plus_eps=True),
}
SECOND_VAR_MISTAKE = ("Note: new_running_var is not what this mistake alone gives: the running variance has a "
                      "mistake of its own (PyTorch updates it with the unbiased batch variance, var * n / (n - 1), "
                      "without eps)")


def torch_grads(x, gamma, beta, rm, rv, dout, eps):
    x = x.clone().requires_grad_(True)
    gamma = gamma.clone().requires_grad_(True)
    beta = beta.clone().requires_grad_(True)
    out = F.batch_norm(x, rm.clone(), rv.clone(), gamma, beta, training=True, momentum=0.1, eps=eps)
    vjp(out, dout)
    return x.grad, gamma.grad, beta.grad


def manual_dx(x, gamma, dout, eps, *, terms=("direct", "mean", "var"), use_gamma=True, n_minus_1=False,
              batch_count=False):
    axes = chan_axes(x)
    n = x.numel() // x.shape[1]
    mean = x.mean(dim=axes, keepdim=True)
    var = x.var(dim=axes, keepdim=True, correction=0)
    inv_std = 1 / torch.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    dx_hat = dout * gamma.reshape(bshape(x.dim())) if use_gamma else dout
    m = x.shape[0] if batch_count else n - 1 if n_minus_1 else n
    dx = dx_hat.clone() if "direct" in terms else torch.zeros_like(x)
    if "mean" in terms:
        dx = dx - dx_hat.sum(dim=axes, keepdim=True) / m
    if "var" in terms:
        dx = dx - x_hat * (dx_hat * x_hat).sum(dim=axes, keepdim=True) / m
    return dx * inv_std


def unbiased_grads(x, gamma, beta, dout, eps):
    """Autograd of a forward pass that normalises with the unbiased variance."""
    x = x.clone().requires_grad_(True)
    axes = chan_axes(x)
    x_hat = (x - x.mean(dim=axes, keepdim=True)) / torch.sqrt(x.var(dim=axes, keepdim=True, correction=1) + eps)
    out = gamma.reshape(bshape(x.dim())) * x_hat + beta.reshape(bshape(x.dim()))
    vjp(out, dout)
    return x.grad


def dx_mistakes(oracle, x, gamma, beta, dout, eps):
    extra = {}
    if x.ndim == 4 and x.shape[2] * x.shape[3] > 1:
        extra[DX_COUNT_N] = oracle(partial(manual_dx, eps=eps, batch_count=True), x, gamma, dout)
    return {
        **extra,
        DX_DIRECT: oracle(partial(manual_dx, eps=eps, terms=("direct",)), x, gamma, dout),
        DX_NO_VAR_TERM: oracle(partial(manual_dx, eps=eps, terms=("direct", "mean")), x, gamma, dout),
        DX_NO_MEAN_TERM: oracle(partial(manual_dx, eps=eps, terms=("direct", "var")), x, gamma, dout),
        DX_NO_GAMMA: oracle(partial(manual_dx, eps=eps, use_gamma=False), x, gamma, dout),
        DX_N_MINUS_1: oracle(partial(manual_dx, eps=eps, n_minus_1=True), x, gamma, dout),
        DX_UNBIASED: oracle(partial(unbiased_grads, eps=eps), x, gamma, beta, dout),
    }


# -- calling the student ----------------------------------------------------------

def call_forward(student, check, x, gamma, beta, rm, rv, training, momentum, eps):
    """The CallResult and the 4-tuple (out, new_running_mean, new_running_var, cache)."""
    res = student.call("batchnorm_forward", x, gamma, beta, rm, rv,
                       training=training, momentum=momentum, eps=eps)
    value = res.value
    if not isinstance(value, (tuple, list)) or len(value) != 4:
        check.fail(f"batchnorm_forward must return a tuple of 4 values (out, new_running_mean, "
                   f"new_running_var, cache); got {describe(value)}")
    return res, tuple(value)


def what_forward(x, training, momentum, eps):
    return (f"batchnorm_forward(x of shape {fmt_shape(x.shape)}, training={training}, "
            f"momentum={momentum}, eps={eps})")


def per_channel(check, value, c, what, ndim):
    """Fail with a specific hint when a per-channel vector has the wrong shape."""
    if isinstance(value, np.ndarray) and value.shape != (c,):
        raise ShapeMismatch(f"{what}: expected shape {fmt_shape((c,))}, got {fmt_shape(value.shape)}\n"
                            f"Hint: {PER_CHANNEL}")


# -- checks ------------------------------------------------------------------------

def _forward_train(student, oracle, check, rng, cases):
    for shape, eps in cases:
        x = make_x(rng, shape)
        gamma, beta, rm, rv = make_params(rng, shape[1])
        momentum = 0.1
        _, (out, *_rest) = call_forward(student, check, x, gamma, beta, rm, rv, True, momentum, eps)
        expected = oracle(partial(torch_bn, training=True, momentum=momentum, eps=eps), x, gamma, beta, rm, rv)
        check.close(out, expected[0], "out of " + what_forward(x, True, momentum, eps),
                    inputs={"x": x, "gamma": gamma},
                    mistakes=out_mistakes(oracle, x, gamma, beta, rm, rv, True, momentum, eps))


def test_forward_train_2d(student, oracle, check, rng):
    _forward_train(student, oracle, check, rng, [((8, 4), 1e-5), ((5, 3), 1e-3), ((2, 5), 1e-5)])


def test_forward_train_4d(student, oracle, check, rng):
    # N = 1 is graded for image input: there are still H*W values per channel.
    _forward_train(student, oracle, check, rng, [((4, 3, 5, 6), 1e-5), ((2, 2, 3, 3), 1e-3),
                                                 ((1, 3, 4, 5), 1e-5)])


def _matches(actual, wrong) -> bool:
    """Whether the student's value is the wrong variant's (within a tight tolerance)."""
    try:
        a = np.asarray(actual, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    w = np.asarray(wrong.value, dtype=np.float64)
    return a.shape == w.shape and bool(np.allclose(a, w, rtol=1e-6, atol=1e-12 * float(np.max(np.abs(w), initial=1.0))))


def _running(student, oracle, check, rng, shape, steps, momentum, eps, start_default):
    c = shape[1]
    gamma, beta, rm0, rv0 = make_params(rng, c)
    if start_default:  # what nn.BatchNorm starts from
        rm0, rv0 = np.zeros(c), np.ones(c)
    xs = np.stack([make_x(rng, shape) + rng.normal(size=c).reshape(bshape(len(shape))) for _ in range(steps)])
    expected = oracle(partial(torch_running, momentum=momentum, eps=eps), xs, gamma, beta, rm0, rv0)
    wrong = {hint: oracle(partial(manual_running, momentum=momentum, eps=eps, **knobs), xs, gamma, beta, rm0, rv0)
             for hint, knobs in RUNNING_VARIANTS.items()}
    if len(shape) == 4:
        wrong[RESHAPE_NO_TRANSPOSE] = oracle(partial(manual_running, momentum=momentum, eps=eps, bn=reshape_bn),
                                             xs, gamma, beta, rm0, rv0)
    rm, rv = rm0, rv0
    for t in range(steps):
        x = xs[t]
        _, (_, new_rm, new_rv, _) = call_forward(student, check, x, gamma, beta, rm, rv, True, momentum, eps)
        where = (f" after step {t + 1} of {steps} (x of shape {fmt_shape(x.shape)}, momentum={momentum}, "
                 f"running statistics fed back from your step {t})" if t else
                 f" after step 1 of {steps} (x of shape {fmt_shape(x.shape)}, momentum={momentum})")
        per_channel(check, new_rm, c, "new_running_mean" + where, x.ndim)
        # A variant that explains both statistics is named first: the mean alone cannot
        # tell CS231n's whole update from a swapped momentum.
        both = [hint for hint, w in wrong.items() if _matches(new_rm, w[t][0]) and _matches(new_rv, w[t][1])]
        order = both + [hint for hint in wrong if hint not in both]
        try:
            check.close(new_rm, expected[t][0], "new_running_mean" + where,
                        mistakes={hint: wrong[hint][t][0] for hint in order})
        except GradingFailure as exc:
            if both or _matches(new_rv, expected[t][1]) or not any(_matches(new_rm, w[t][0]) for w in wrong.values()):
                raise
            # The mean names a mistake, and the variance shows one more that no modelled mistake explains.
            raise GradingFailure(f"{exc}\n{SECOND_VAR_MISTAKE}") from None
        per_channel(check, new_rv, c, "new_running_var" + where, x.ndim)
        check.close(new_rv, expected[t][1], "new_running_var" + where,
                    mistakes={hint: w[t][1] for hint, w in wrong.items()})
        rm, rv = new_rm, new_rv


def test_running_stats_2d(student, oracle, check, rng):
    _running(student, oracle, check, rng, (6, 4), steps=4, momentum=0.1, eps=1e-5, start_default=True)
    _running(student, oracle, check, rng, (5, 3), steps=3, momentum=0.3, eps=1e-5, start_default=False)


def test_running_stats_4d(student, oracle, check, rng):
    _running(student, oracle, check, rng, (3, 4, 3, 5), steps=4, momentum=0.2, eps=1e-5, start_default=False)
    _running(student, oracle, check, rng, (1, 2, 3, 4), steps=2, momentum=0.1, eps=1e-5, start_default=True)


def test_eval_mode(student, oracle, check, rng):
    for shape, eps in [((6, 4), 1e-5), ((3, 3, 4, 5), 1e-3)]:
        x = make_x(rng, shape)
        gamma, beta, rm, rv = make_params(rng, shape[1])
        momentum = 0.1
        what = what_forward(x, False, momentum, eps)
        _, (out, new_rm, new_rv, _) = call_forward(student, check, x, gamma, beta, rm, rv, False, momentum, eps)
        expected = oracle(partial(torch_bn, training=False, momentum=momentum, eps=eps), x, gamma, beta, rm, rv)
        check.close(out, expected[0], "out of " + what, inputs={"x": x},
                    mistakes=out_mistakes(oracle, x, gamma, beta, rm, rv, False, momentum, eps))
        updated = oracle(partial(manual_bn, training=False, momentum=momentum, eps=eps, eval_mode="updated"),
                         x, gamma, beta, rm, rv)
        for name, got, old, upd in (("new_running_mean", new_rm, rm, updated[1]),
                                    ("new_running_var", new_rv, rv, updated[2])):
            per_channel(check, got, shape[1], f"{name} of {what}", x.ndim)
            check.close(got, old, f"{name} of {what} (must equal the {name[4:]} passed in)",
                        mistakes={EVAL_UPDATED: upd})


BACKWARD_CASES_2D = [((8, 4), 1e-5), ((6, 3), 1e-3)]
BACKWARD_CASES_4D = [((3, 4, 3, 5), 1e-5), ((1, 3, 4, 5), 1e-3)]


class BackwardCheck:
    """Compares gradients; when the student's own forward output was wrong, every failure
    says so (the backward pass runs on that forward pass's cache)."""

    def __init__(self, check, forward_ok):
        self.check, self.forward_ok = check, forward_ok

    def close(self, *args, **kwargs):
        try:
            self.check.close(*args, **kwargs)
        except GradingFailure as exc:
            if self.forward_ok:
                raise
            raise GradingFailure(
                f"{exc}\nNote: your batchnorm_forward's output for this input is wrong too, and "
                f"batchnorm_backward runs on its cache: fix the forward pass first (see the "
                f"test_forward_* checks)") from None


def _forward_ok(oracle, out, x, gamma, beta, rm, rv, eps):
    expected = oracle(partial(torch_bn, training=True, momentum=0.1, eps=eps), x, gamma, beta, rm, rv)[0].value
    try:
        got = np.asarray(out, dtype=np.float64)
        return got.shape == expected.shape and bool(np.allclose(got, expected, rtol=1e-6, atol=1e-9))
    except (TypeError, ValueError):
        return False


def _backward(student, oracle, check, rng, shape, eps):
    """Run the student's forward (training) then backward on its own cache."""
    x = make_x(rng, shape)
    gamma, beta, rm, rv = make_params(rng, shape[1])
    dout = rng.normal(size=shape)
    fwd, (out, *_rest) = call_forward(student, check, x, gamma, beta, rm, rv, True, 0.1, eps)
    check = BackwardCheck(check, _forward_ok(oracle, out, x, gamma, beta, rm, rv, eps))
    value = student.batchnorm_backward(dout, fwd.ref(3))
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        check.fail(f"batchnorm_backward must return a tuple of 3 values (dx, dgamma, dbeta); got {describe(value)}")
    what = (f"of batchnorm_backward(dout, cache) for x of shape {fmt_shape(shape)}, eps={eps} "
            f"(cache from your batchnorm_forward with training=True)")
    return (x, gamma, beta, rm, rv, dout), tuple(value), what, check


def test_backward_dgamma_dbeta(student, oracle, check, rng):
    for shape, eps in BACKWARD_CASES_2D[:1] + BACKWARD_CASES_4D:
        (x, gamma, beta, rm, rv, dout), (_, dgamma, dbeta), what, bcheck = _backward(
            student, oracle, check, rng, shape, eps)
        expected = oracle(partial(torch_grads, eps=eps), x, gamma, beta, rm, rv, dout)
        axes = (0,) if x.ndim == 2 else (0, 2, 3)
        per_channel(check, dbeta, shape[1], "dbeta " + what, x.ndim)
        dbeta_xhat = oracle(lambda d, t: (d * F.batch_norm(t, None, None, training=True, eps=eps)).sum(dim=axes),
                            dout, x)
        bcheck.close(dbeta, expected[2], "dbeta " + what, mistakes={DBETA_XHAT: dbeta_xhat})
        per_channel(check, dgamma, shape[1], "dgamma " + what, x.ndim)
        bcheck.close(dgamma, expected[1], "dgamma " + what, mistakes={
            DGAMMA_NO_XHAT: oracle(lambda d: d.sum(dim=axes), dout),
            DGAMMA_X: oracle(lambda d, xx: (d * xx).sum(dim=axes), dout, x),
        })


def _backward_dx(student, oracle, check, rng, cases):
    for shape, eps in cases:
        (x, gamma, beta, rm, rv, dout), (dx, _, _), what, bcheck = _backward(
            student, oracle, check, rng, shape, eps)
        expected = oracle(partial(torch_grads, eps=eps), x, gamma, beta, rm, rv, dout)
        bcheck.close(dx, expected[0], "dx " + what, inputs={"x": x, "dout": dout},
                    mistakes=dx_mistakes(oracle, x, gamma, beta, dout, eps))


def test_backward_dx_2d(student, oracle, check, rng):
    _backward_dx(student, oracle, check, rng, BACKWARD_CASES_2D)


def test_backward_dx_4d(student, oracle, check, rng):
    _backward_dx(student, oracle, check, rng, BACKWARD_CASES_4D)


def test_inputs_unchanged(student, check, rng):
    names = ["x", "gamma", "beta", "running_mean", "running_var"]
    for shape, training in [((6, 4), True), ((2, 3, 4, 5), True), ((6, 4), False)]:
        x = make_x(rng, shape)
        gamma, beta, rm, rv = make_params(rng, shape[1])
        fwd, _ = call_forward(student, check, x, gamma, beta, rm, rv, training, 0.1, 1e-5)
        check.no_mutation(fwd, f"batchnorm_forward(x of shape {fmt_shape(shape)}, training={training})",
                          names=names)
        if training:
            dout = rng.normal(size=shape)
            bwd = student.call("batchnorm_backward", dout, fwd.ref(3))
            # The cache is the student's own: changing it is allowed, changing dout is not.
            bwd.mutated = [m for m in bwd.mutated if m[0] == 0]
            check.no_mutation(bwd, "batchnorm_backward(dout, cache)", names=["dout"])
