"""Grader for ex11_resblock: the student's residual block against torch autograd in float64.

Points, tolerances and limits are in exercise.yaml. Run with
``grader check ex11`` or ``pytest exercises/ex11_resblock``.

The oracle is the block written with ``F.conv2d`` and ``F.batch_norm`` (what
torchvision's ``BasicBlock`` computes), differentiated by autograd. The
student's block may import the student's own ``conv.py`` and ``batchnorm.py``
(the grader copies them beside it: ``uses`` in exercise.yaml) or be
self-contained. Every backward pass runs on the cache of the student's own
forward pass.
"""

from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

from grader.sandbox.client import StudentError

# -- hints -----------------------------------------------------------------------

SKIP_FORGOTTEN = ("dx is missing the gradient through the skip connection: out = relu(main(x) + shortcut(x)), "
                  "so dx = (gradient through the main branch) + (gradient through the shortcut); with an identity "
                  "shortcut the second term is dz = dout * (z > 0) itself")
SKIP_TWICE = ("dx counts the skip connection's gradient twice: add the shortcut's gradient (dz for an identity "
              "shortcut) once, to the gradient that comes back through the main branch")
PROJ_FORGOTTEN = ("dx is missing the gradient through the projection shortcut: backpropagate dz through "
                  "bn_proj and the 1x1 conv_proj as well, and add the resulting dx to the main branch's")
RELU_BEFORE_ADD = ("the ReLU is applied before the addition: torchvision's BasicBlock adds first, "
                   "out = relu(bn2(conv2(h)) + shortcut(x)); a ReLU on bn2's output before the sum is not part "
                   "of it")
RELU_BEFORE_ADD_ONLY = RELU_BEFORE_ADD + " (here: relu(bn2(...)) + shortcut(x), with no ReLU after the sum)"
NO_FINAL_RELU = "the final ReLU is missing: out = relu(bn2(conv2(h)) + shortcut(x))"
BN_EVAL_IN_TRAINING = ("batch norm ran in eval mode while the block is in training mode: pass training=True on "
                       "to every batch norm (they then normalise with the batch statistics and update the "
                       "running ones)")
EVAL_USES_BATCH = ("in eval mode (training=False) every batch norm normalises with its running statistics: "
                   "pass training=False on to them")
EVAL_UPDATED = "in eval mode (training=False) the running statistics must come back unchanged: no update"
SHAPE_CRASH = ("the main branch and the shortcut have different shapes: conv1 has stride `stride` and "
               "padding 1, conv2 stride 1 and padding 1, and the projection (a 1x1 convolution, used when "
               "stride != 1 or F != C) stride `stride` and padding 0; all three give "
               "H_out = (H - 1) // stride + 1. Did the projection ignore the stride, or the block use the "
               "identity where a projection is needed?")


# -- inputs ----------------------------------------------------------------------

@dataclass
class Case:
    N: int
    C: int
    H: int
    W: int
    F: int
    stride: int = 1

    @property
    def projection(self) -> bool:
        return self.stride != 1 or self.F != self.C

    @property
    def out_shape(self):
        return (self.N, self.F, (self.H - 1) // self.stride + 1, (self.W - 1) // self.stride + 1)

    @property
    def args(self) -> str:
        return f"C={self.C}, F={self.F}, stride={self.stride}"

    def data(self, rng):
        x = rng.normal(size=(self.N, self.C, self.H, self.W))
        params = {"w1": rng.normal(size=(self.F, self.C, 3, 3)) / np.sqrt(9 * self.C),
                  "gamma1": rng.uniform(0.5, 2.0, self.F), "beta1": rng.normal(size=self.F),
                  "w2": rng.normal(size=(self.F, self.F, 3, 3)) / np.sqrt(9 * self.F),
                  "gamma2": rng.uniform(0.5, 2.0, self.F), "beta2": rng.normal(size=self.F)}
        running = {"mean1": rng.normal(size=self.F), "var1": rng.uniform(0.5, 2.0, self.F),
                   "mean2": rng.normal(size=self.F), "var2": rng.uniform(0.5, 2.0, self.F)}
        if self.projection:
            params.update(w_proj=rng.normal(size=(self.F, self.C, 1, 1)) / np.sqrt(self.C),
                          gamma_proj=rng.uniform(0.5, 2.0, self.F), beta_proj=rng.normal(size=self.F))
            running.update(mean_proj=rng.normal(size=self.F), var_proj=rng.uniform(0.5, 2.0, self.F))
        return x, params, running

    def dout(self, rng):
        return rng.normal(size=self.out_shape)


IDENTITY = [Case(4, 3, 6, 5, 3), Case(3, 4, 5, 7, 4)]
# A projection for a stride (odd and even sizes), for a change of width alone, and for both.
PROJECTION = [Case(3, 2, 7, 6, 4, 2), Case(4, 3, 5, 6, 5, 1), Case(3, 3, 8, 7, 3, 2)]
MOMENTUM, EPS = 0.1, 1e-5


# -- the oracle ------------------------------------------------------------------

def _bn(x, gamma, beta, mean, var, training, momentum, eps):
    mean, var = mean.clone(), var.clone()  # F.batch_norm updates them in place
    return F.batch_norm(x, mean, var, gamma, beta, training=training, momentum=momentum, eps=eps), mean, var


def torch_block(x, params, running, stride, training, momentum, eps, *, relu_before_add=False,
                final_relu=True, bn_training=None, proj_stride=None, branches=False):
    """The block in torch; knobs for the mistakes students make. ``branches``: also return
    the main branch's and the shortcut's outputs and z (for the gradients through each)."""
    bn_training = training if bn_training is None else bn_training
    new = {}
    a1, new["mean1"], new["var1"] = _bn(F.conv2d(x, params["w1"], stride=stride, padding=1), params["gamma1"],
                                        params["beta1"], running["mean1"], running["var1"], bn_training,
                                        momentum, eps)
    h = torch.relu(a1)
    a2, new["mean2"], new["var2"] = _bn(F.conv2d(h, params["w2"], padding=1), params["gamma2"], params["beta2"],
                                        running["mean2"], running["var2"], bn_training, momentum, eps)
    if "w_proj" in params:
        s, new["mean_proj"], new["var_proj"] = _bn(
            F.conv2d(x, params["w_proj"], stride=stride if proj_stride is None else proj_stride),
            params["gamma_proj"], params["beta_proj"], running["mean_proj"], running["var_proj"], bn_training,
            momentum, eps)
    else:
        s = x
    z = (torch.relu(a2) if relu_before_add else a2) + s
    out = torch.relu(z) if final_relu else z
    return (out, new, a2, s, z) if branches else (out, new)


def torch_grads(x, params, running, dout, stride, momentum, eps):
    """The gradients of every input by autograd, and the parts of dx through each branch:
    {"grads": {...}, "dx_main": ..., "dx_skip": ...}."""
    x = x.clone().requires_grad_(True)
    params = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    out, _, a2, s, z = torch_block(x, params, running, stride, True, momentum, eps, branches=True)
    dz = dout * (z > 0)
    leaves = [x] + list(params.values())
    # (scalar outputs: a grad_outputs argument would import torch's compiler to check its shape)
    main = torch.autograd.grad((a2 * dz).sum(), leaves, retain_graph=True, allow_unused=True)
    skip = torch.autograd.grad((s * dz).sum(), leaves, allow_unused=True)
    total = [m if k is None else (k if m is None else m + k) for m, k in zip(main, skip)]
    grads = {"x": total[0], **dict(zip(params, total[1:]))}
    return {"grads": grads, "dx_main": main[0], "dx_skip": skip[0]}


# -- calling the student -------------------------------------------------------------

def call_forward(student, check, case, x, params, running, training):
    what = f"resblock_forward(x, params, running, stride={case.stride}, training={training}) ({case.args})"
    try:
        result = student.call("resblock_forward", x, params, running, case.stride, training, MOMENTUM, EPS)
    except StudentError as exc:
        if any(text in exc.cause for text in ("could not be broadcast", "shape-mismatch", "shapes")):
            raise StudentError(f"{exc.cause}\nHint: {SHAPE_CRASH}", exc.details, kind=exc.kind) from None
        raise
    check.tuple(result.value, 3, what + " (it must return (out, new_running, cache))")
    return result, what


def check_forward(student, oracle, check, case, rng, training=True):
    x, params, running = case.data(rng)
    result, what = call_forward(student, check, case, x, params, running, training)
    out = result.value[0]
    block = partial(torch_block, stride=case.stride, training=training, momentum=MOMENTUM, eps=EPS)
    expected = oracle(block, x, params, running)
    mistakes = {}
    if training:
        mistakes[RELU_BEFORE_ADD] = oracle(partial(block, relu_before_add=True), x, params, running)[0]
        mistakes[RELU_BEFORE_ADD_ONLY] = oracle(partial(block, relu_before_add=True, final_relu=False),
                                                x, params, running)[0]
        mistakes[BN_EVAL_IN_TRAINING] = oracle(partial(block, bn_training=False), x, params, running)[0]
    else:
        mistakes[EVAL_USES_BATCH] = oracle(partial(block, bn_training=True), x, params, running)[0]
    mistakes[NO_FINAL_RELU] = oracle(partial(block, final_relu=False), x, params, running)[0]
    inputs = {"x": x, "stride": case.stride, "training": training}
    check.close(out, expected[0], "out of " + what, inputs=inputs, mistakes=mistakes)
    return result, what, expected, (x, params, running)


def forward_values(student, oracle, check, case, rng, training=True):
    """The student's forward call and the oracle's values, without grading out (other checks do)."""
    x, params, running = case.data(rng)
    result, what = call_forward(student, check, case, x, params, running, training)
    block = partial(torch_block, stride=case.stride, training=training, momentum=MOMENTUM, eps=EPS)
    return result, what, oracle(block, x, params, running), running


def check_backward(student, oracle, check, case, rng):
    x, params, running = case.data(rng)
    dout = case.dout(rng)
    fwd, what = call_forward(student, check, case, x, params, running, True)
    grads = student.resblock_backward(dout, fwd.ref(2))
    grads = check.keys(grads, ["x"] + list(params), f"resblock_backward(dout, cache) after {what}")
    expected = oracle(partial(torch_grads, stride=case.stride, momentum=MOMENTUM, eps=EPS), x, params, running, dout)
    main, skip = np.asarray(expected["dx_main"].value), np.asarray(expected["dx_skip"].value)
    mistakes = ({PROJ_FORGOTTEN: main, SKIP_TWICE + " (here: the projection's)": main + 2 * skip}
                if case.projection else {SKIP_FORGOTTEN: main, SKIP_TWICE: main + 2 * skip})
    after = f" from resblock_backward after {what}"
    check.close(grads["x"], expected["grads"]["x"], "grads['x']" + after, mistakes=mistakes)
    for key in params:
        check.close(grads[key], expected["grads"][key], f"grads[{key!r}]" + after)


# -- the checks ------------------------------------------------------------------

def test_forward_identity(student, oracle, check, rng):
    for case in IDENTITY:
        check_forward(student, oracle, check, case, rng)


def test_forward_projection(student, oracle, check, rng):
    for case in PROJECTION:
        check_forward(student, oracle, check, case, rng)


def test_running_stats(student, oracle, check, rng):
    for case in IDENTITY[:1] + PROJECTION[:1]:
        result, what, expected, running = forward_values(student, oracle, check, case, rng)
        new = check.keys(result.value[1], list(running), "new_running of " + what)
        for key in running:
            check.close(new[key], expected[1][key], f"new_running[{key!r}] of {what}",
                        mistakes={BN_EVAL_IN_TRAINING + " (the running statistics came back unchanged)":
                                  running[key]})


def test_eval_mode(student, oracle, check, rng):
    for case in IDENTITY[:1] + PROJECTION[:1]:
        result, what, expected, (x, params, running) = check_forward(student, oracle, check, case, rng,
                                                                     training=False)
        new = check.keys(result.value[1], list(running), "new_running of " + what)
        updated = oracle(partial(torch_block, stride=case.stride, training=True, momentum=MOMENTUM, eps=EPS),
                         x, params, running)[1]
        for key in running:
            check.close(new[key], running[key], f"new_running[{key!r}] of {what}",
                        mistakes={EVAL_UPDATED: updated[key]})


def test_backward_identity(student, oracle, check, rng):
    for case in IDENTITY:
        check_backward(student, oracle, check, case, rng)


def test_backward_projection(student, oracle, check, rng):
    for case in PROJECTION:
        check_backward(student, oracle, check, case, rng)


def test_inputs_unchanged(student, check, rng):
    case = PROJECTION[0]
    x, params, running = case.data(rng)
    fwd = student.call("resblock_forward", x, params, running, case.stride, True, MOMENTUM, EPS)
    check.no_mutation(fwd, "resblock_forward(x, params, running, ...)", names=["x", "params", "running"])
    check.tuple(fwd.value, 3, "resblock_forward (it must return (out, new_running, cache))")
    check.no_mutation(student.call("resblock_backward", case.dout(rng), fwd.ref(2)), "resblock_backward(dout, cache)",
                      names=["dout"])
