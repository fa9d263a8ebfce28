"""Capstones: one mistake costs only its own checks, across exercises (issue 24).

A capstone (ex11, ex12) composes the student's own layers of earlier exercises
(``uses:`` in its exercise.yaml; grader.submission finds the files). Before the
capstone's checks run, each layer function it may use is checked quickly here,
in a sandbox of its own, against PyTorch on the configurations the capstones use
(``probe``). A function that fails is named ("conv2d_backward (ex06) is wrong for
stride 2, padding 1 (a 3x3 kernel): fix ex06 first"), and in the capstone's
sandbox its module is replaced by a stand-in: the student's own module is still
there (as ``_student_<name>``) and the stand-in re-exports it, but the failing
functions (with their partner: a forward and its backward share a cache) call back
to the grader over the sandbox's pipe, and the grader answers with PyTorch's
values (``StandIns.answer``). A cache crosses as a handle the grader keeps. So the
composition's checks grade the student's composition on its own. Values cross,
never code: neither torch nor a reference ever enters the sandbox.

The trusted side computes through the oracle it is given (float64, the oracle's
cache replays a deterministic student's calls on a re-check); a long run (the
full training of ex12) asks the real oracle, uncached (``StandIns.uncached``).
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import shutil
import tempfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from grader import compare
from grader.sandbox.client import Sandbox, StudentError
from grader.vjp import vjp

MAX_HANDLES = 256  # the caches the grader keeps for the stand-ins' backward passes


def _pair(v) -> tuple[int, int]:
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


# -- the trusted layers (torch, through the oracle) --------------------------------------
#
# Functions for the oracle: torch is imported inside them, when the oracle runs them (a
# cached re-check imports no torch), and their closures hold plain values only (they are
# part of the oracle cache's key).

def _t_conv(stride, padding):
    def conv(x, w, b):
        import torch.nn.functional as F

        return F.conv2d(x, w, b, stride=stride, padding=padding)
    return conv


def _t_conv_grads(stride, padding):
    def grads(x, w, b, dout):
        import torch.nn.functional as F

        x, w, b = (t.clone().requires_grad_(True) for t in (x, w, b))
        vjp(F.conv2d(x, w, b, stride=stride, padding=padding), dout)
        return x.grad, w.grad, b.grad
    return grads


def _t_pool(kind, kernel, stride):
    def pool(x):
        import torch.nn.functional as F

        return (F.max_pool2d if kind == "max" else F.avg_pool2d)(x, kernel, stride)
    return pool


def _t_pool_grad(kind, kernel, stride):
    def grad(x, dout):
        import torch.nn.functional as F

        x = x.clone().requires_grad_(True)
        vjp((F.max_pool2d if kind == "max" else F.avg_pool2d)(x, kernel, stride), dout)
        return x.grad
    return grad


def _t_bn(training, momentum, eps):
    def bn(x, gamma, beta, rm, rv):
        import torch.nn.functional as F

        rm, rv = rm.clone(), rv.clone()
        out = F.batch_norm(x, rm, rv, gamma, beta, training=training, momentum=momentum, eps=eps)
        return out, rm, rv
    return bn


def _t_bn_grads(eps):
    def grads(x, gamma, beta, dout):
        import torch.nn.functional as F

        x, gamma, beta = (t.clone().requires_grad_(True) for t in (x, gamma, beta))
        vjp(F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps), dout)
        return x.grad, gamma.grad, beta.grad
    return grads


def _t_cross_entropy(logits, labels):
    import torch.nn.functional as F

    logits = logits.clone().requires_grad_(True)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    return loss.detach(), logits.grad


def _t_softmax(axis, log):
    def softmax(z):
        import torch.nn.functional as F

        return (F.log_softmax if log else F.softmax)(z, dim=axis)
    return softmax


def _t_adam(lr, beta1, beta2, eps, step):
    """One step of torch.optim.Adam's update rule (PyTorch's formula, float64)."""
    def adam(w, dw, m, v):
        m = beta1 * m + (1 - beta1) * dw
        v = beta2 * v + (1 - beta2) * dw * dw
        denom = v.sqrt() / (1 - beta2 ** step) ** 0.5 + eps
        return w - lr / (1 - beta1 ** step) * m / denom, m, v
    return adam


@dataclass
class Layer:
    module: str      # the student's module: conv
    exercise: str    # its exercise: ex06_conv
    functions: tuple[str, ...]  # replaced together (a forward and its backward share a cache)


LAYERS = {
    "conv": [Layer("conv", "ex06_conv", ("conv2d_forward", "conv2d_backward"))],
    "pool": [Layer("pool", "ex07_pool", ("max_pool2d_forward", "max_pool2d_backward")),
             Layer("pool", "ex07_pool", ("avg_pool2d_forward", "avg_pool2d_backward"))],
    "batchnorm": [Layer("batchnorm", "ex08_batchnorm", ("batchnorm_forward", "batchnorm_backward"))],
    "softmax": [Layer("softmax", "ex05_softmax", ("softmax_cross_entropy",)),
                Layer("softmax", "ex05_softmax", ("softmax",)), Layer("softmax", "ex05_softmax", ("log_softmax",))],
    "optim": [Layer("optim", "ex09_optim", ("adam",))],
}


# -- the probes: each layer function on the configurations the capstones use ------------

def _problem(exc: Exception, module: str, where: str) -> str:
    """What is wrong with a layer function, from the failure of its probe."""
    if isinstance(exc, StudentError) and exc.kind == "missing":
        return f"is missing from your {module}.py (or {module}.py cannot be imported)"
    return f"is wrong for {where}"


@dataclass
class Finding:
    layer: Layer
    function: str
    problem: str     # "is wrong for stride 2, padding 1 (a 3x3 kernel)"
    detail: str = ""

    @property
    def short(self) -> str:
        number = self.layer.exercise.split("_")[0]
        return (f"{self.function} ({number}) {self.problem}: fix {number} first "
                f"(grader check {number})")


class _Probe:
    def __init__(self, box: Sandbox, oracle, rng: np.random.Generator):
        self.box, self.oracle, self.rng = box, oracle, rng

    def call(self, func: str, *args):
        return self.box.call(func, *args).value

    @staticmethod
    def close(actual, expected, what: str) -> None:
        compare.check_close(actual, expected, what, rtol=1e-7, atol=1e-10)


def _probe_conv(p: _Probe, layer: Layer) -> list[Finding]:
    found = []
    for (N, C, H, W, F_, K), stride, padding in (((3, 2, 8, 7, 4, 3), 1, 1), ((3, 2, 7, 8, 3, 3), 2, 1),
                                                  ((2, 3, 7, 6, 4, 1), 2, 0)):
        where = f"stride {stride}, padding {padding} (a {K}x{K} kernel)"
        x, w, b = p.rng.normal(size=(N, C, H, W)), p.rng.normal(size=(F_, C, K, K)), p.rng.normal(size=F_)
        try:
            fwd = p.box.call("conv2d_forward", x, w, b, stride, padding)
            out = compare.check_tuple(fwd.value, 2, "conv2d_forward")[0]
            p.close(out, p.oracle(_t_conv(stride, padding), x, w, b), "out")
        except (StudentError, compare.GradingFailure) as exc:
            found.append(Finding(layer, "conv2d_forward", _problem(exc, "conv", where), str(exc)))
            continue
        dout = p.rng.normal(size=np.shape(p.oracle(_t_conv(stride, padding), x, w, b).value))
        try:
            grads = compare.check_tuple(p.call("conv2d_backward", dout, fwd.ref(1)), 3, "conv2d_backward")
            expected = p.oracle(_t_conv_grads(stride, padding), x, w, b, dout)
            for i, name in enumerate(("dx", "dw", "db")):
                p.close(grads[i], expected[i], name)
        except (StudentError, compare.GradingFailure) as exc:
            found.append(Finding(layer, "conv2d_backward", _problem(exc, "conv", where), str(exc)))
    return found


def _probe_pool(p: _Probe, layer: Layer) -> list[Finding]:
    kind = "max" if layer.functions[0].startswith("max") else "avg"
    fwd_name, bwd_name = layer.functions
    x = p.rng.normal(size=(3, 4, 8, 6))  # continuous values: no ties
    try:
        fwd = p.box.call(fwd_name, x, 2, 2)
        out = compare.check_tuple(fwd.value, 2, fwd_name)[0]
        p.close(out, p.oracle(_t_pool(kind, 2, 2), x), "out")
    except (StudentError, compare.GradingFailure) as exc:
        return [Finding(layer, fwd_name, _problem(exc, "pool", "a 2x2 window with stride 2"), str(exc))]
    dout = p.rng.normal(size=(3, 4, 4, 3))
    try:
        p.close(p.call(bwd_name, dout, fwd.ref(1)), p.oracle(_t_pool_grad(kind, 2, 2), x, dout), "dx")
    except (StudentError, compare.GradingFailure) as exc:
        return [Finding(layer, bwd_name, _problem(exc, "pool", "a 2x2 window with stride 2"), str(exc))]
    return []


def _probe_batchnorm(p: _Probe, layer: Layer) -> list[Finding]:
    found = []
    x = p.rng.normal(size=(4, 3, 5, 4)) * 2 + 1
    gamma, beta = p.rng.uniform(0.5, 2, 3), p.rng.normal(size=3)
    rm, rv = p.rng.normal(size=3), p.rng.uniform(0.5, 2, 3)
    for training in (True, False):
        mode = "training" if training else "eval"
        try:
            fwd = p.box.call("batchnorm_forward", x, gamma, beta, rm, rv, training, 0.1, 1e-5)
            got = compare.check_tuple(fwd.value, 4, "batchnorm_forward")
            expected = p.oracle(_t_bn(training, 0.1, 1e-5), x, gamma, beta, rm, rv)
            for i, name in enumerate(("out", "new_running_mean", "new_running_var")):
                p.close(got[i], expected[i], name)
        except (StudentError, compare.GradingFailure) as exc:
            found.append(Finding(layer, "batchnorm_forward", _problem(exc, "batchnorm", f"{mode}-mode calls"),
                                 str(exc)))
            continue
        if training:
            dout = p.rng.normal(size=x.shape)
            try:
                grads = compare.check_tuple(p.call("batchnorm_backward", dout, fwd.ref(3)), 3, "batchnorm_backward")
                expected = p.oracle(_t_bn_grads(1e-5), x, gamma, beta, dout)
                for i, name in enumerate(("dx", "dgamma", "dbeta")):
                    p.close(grads[i], expected[i], name)
            except (StudentError, compare.GradingFailure) as exc:
                found.append(Finding(layer, "batchnorm_backward", _problem(exc, "batchnorm", "(N, C, H, W) input"),
                                     str(exc)))
    return found


def _probe_softmax(p: _Probe, layer: Layer) -> list[Finding]:
    name = layer.functions[0]
    z = p.rng.normal(size=(8, 10)) * 3
    try:
        if name == "softmax_cross_entropy":
            labels = p.rng.integers(0, 10, 8)
            got = compare.check_tuple(p.call(name, z, labels), 2, name)
            expected = p.oracle(_t_cross_entropy, z, labels)
            compare.check_scalar(got[0], expected[0], "loss", rtol=1e-7, atol=1e-10)
            p.close(got[1], expected[1], "dlogits")
        else:
            p.close(p.call(name, z, -1), p.oracle(_t_softmax(-1, name == "log_softmax"), z), name)
    except (StudentError, compare.GradingFailure) as exc:
        return [Finding(layer, name, _problem(exc, "softmax", "(N, C) logits"), str(exc))]
    return []


def _probe_adam(p: _Probe, layer: Layer) -> list[Finding]:
    w, state = p.rng.normal(size=(5, 4)), {}
    m = v = np.zeros((5, 4))
    try:
        for step in (1, 2, 3):
            dw = p.rng.normal(size=(5, 4)) * 0.1
            got = compare.check_tuple(p.call("adam", w, dw, state, 1e-2, (0.9, 0.999), 1e-8), 2, "adam")
            expected = p.oracle(_t_adam(1e-2, 0.9, 0.999, 1e-8, step), w, dw, m, v)
            p.close(got[0], expected[0], f"new_w after step {step}")
            w, m, v = np.asarray(expected[0].value), np.asarray(expected[1].value), np.asarray(expected[2].value)
            state = got[1] if isinstance(got[1], dict) else {}
    except (StudentError, compare.GradingFailure) as exc:
        return [Finding(layer, "adam", _problem(exc, "optim", "three steps in a row (lr 0.01)"), str(exc))]
    return []


PROBES: dict[str, Callable[[_Probe, Layer], list[Finding]]] = {
    "conv2d_forward": _probe_conv, "max_pool2d_forward": _probe_pool, "avg_pool2d_forward": _probe_pool,
    "batchnorm_forward": _probe_batchnorm, "softmax_cross_entropy": _probe_softmax, "softmax": _probe_softmax,
    "log_softmax": _probe_softmax, "adam": _probe_adam,
}


# -- the stand-ins ----------------------------------------------------------------------

@dataclass
class StandIns:
    """What the probes found, the stand-in modules for the capstone's sandbox, and the
    trusted side's answers to their callbacks."""

    oracle: Any
    findings: list[Finding] = field(default_factory=list)
    replaced: dict[str, set[str]] = field(default_factory=dict)  # module -> functions answered here
    _handles: OrderedDict = field(default_factory=OrderedDict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _uncached: bool = False

    def notes(self) -> list[str]:
        """One line per failing function, and what the grader did about it (shown with every check)."""
        if not self.findings:
            return []
        by_function: dict[str, list[Finding]] = {}
        for finding in self.findings:
            by_function.setdefault(finding.function, []).append(finding)
        lines = []
        for function, found in by_function.items():
            number = found[0].layer.exercise.split("_")[0]
            problems = " and ".join(dict.fromkeys(f.problem.removeprefix("is wrong ") for f in found))
            wrong = "is wrong " + problems if all(f.problem.startswith("is wrong ") for f in found) else problems
            lines.append(f"your {function} ({number}) {wrong}: fix {number} first (grader check {number})")
        names = ", ".join(sorted(f for functions in self.replaced.values() for f in functions))
        return ["; ".join(lines) + f". Here the calls of {names} are answered by the grader with PyTorch's "
                "values, so these checks grade this file's own work."]

    @contextlib.contextmanager
    def uncached(self):
        """Answers from the real oracle, not recorded in its cache (a long training run)."""
        self._uncached = True
        try:
            yield
        finally:
            self._uncached = False

    def _oracle(self, fn, *inputs):
        oracle = getattr(self.oracle, "real", self.oracle) if self._uncached else self.oracle
        return oracle(fn, *inputs).value

    def _handle(self, value) -> dict:
        key = next(self._ids)
        self._handles[key] = value
        while len(self._handles) > MAX_HANDLES:
            self._handles.popitem(last=False)
        return {"grader_cache": key}

    def _cached(self, handle, kind: str):
        key = handle.get("grader_cache") if isinstance(handle, dict) else None
        found = self._handles.get(key) if isinstance(key, int) else None
        if found is None or found[0] != kind:
            raise ValueError("this cache is not one the grader's stand-in returned (or it is too old)")
        return found[1:]

    def answer(self, name: str, args: list) -> Any:
        """The value of the stand-in ``name`` (``module.function``) for the student's call."""
        module, _, func = name.partition(".")
        if func not in self.replaced.get(module, ()) or not isinstance(args, list) or len(args) != 2 \
                or not isinstance(args[1], dict):
            raise KeyError(f"{name} is not answered here")
        impl = getattr(self, "_" + func)
        try:
            bound = inspect.signature(impl).bind(*args[0], **args[1])
        except TypeError as exc:
            raise TypeError(f"{func}: {exc}") from None
        bound.apply_defaults()
        return impl(*bound.args)

    # The trusted layers, with the curriculum's signatures.

    def _conv2d_forward(self, x, w, b, stride=1, padding=0):
        x, w, b = (np.asarray(a, dtype=np.float64) for a in (x, w, b))
        stride, padding = _pair(stride), _pair(padding)
        out = self._oracle(_t_conv(stride, padding), x, w, b)
        return out, self._handle(("conv", x, w, b, stride, padding))

    def _conv2d_backward(self, dout, cache):
        x, w, b, stride, padding = self._cached(cache, "conv")
        return tuple(self._oracle(_t_conv_grads(stride, padding), x, w, b, np.asarray(dout, dtype=np.float64)))

    def _pool_forward(self, kind, x, kernel_size, stride):
        x = np.asarray(x, dtype=np.float64)
        kernel = _pair(kernel_size)
        stride = kernel if stride is None else _pair(stride)
        return self._oracle(_t_pool(kind, kernel, stride), x), self._handle((kind, x, kernel, stride))

    def _pool_backward(self, kind, dout, cache):
        x, kernel, stride = self._cached(cache, kind)
        return self._oracle(_t_pool_grad(kind, kernel, stride), x, np.asarray(dout, dtype=np.float64))

    def _max_pool2d_forward(self, x, kernel_size, stride=None):
        return self._pool_forward("max", x, kernel_size, stride)

    def _max_pool2d_backward(self, dout, cache):
        return self._pool_backward("max", dout, cache)

    def _avg_pool2d_forward(self, x, kernel_size, stride=None):
        return self._pool_forward("avg", x, kernel_size, stride)

    def _avg_pool2d_backward(self, dout, cache):
        return self._pool_backward("avg", dout, cache)

    def _batchnorm_forward(self, x, gamma, beta, running_mean, running_var, training=True, momentum=0.1, eps=1e-5):
        arrays = [np.asarray(a, dtype=np.float64) for a in (x, gamma, beta, running_mean, running_var)]
        out, rm, rv = self._oracle(_t_bn(bool(training), float(momentum), float(eps)), *arrays)
        return out, rm, rv, self._handle(("bn", arrays[0], arrays[1], arrays[2], float(eps)))

    def _batchnorm_backward(self, dout, cache):
        x, gamma, beta, eps = self._cached(cache, "bn")
        return tuple(self._oracle(_t_bn_grads(eps), x, gamma, beta, np.asarray(dout, dtype=np.float64)))

    def _softmax_cross_entropy(self, logits, labels):
        loss, dlogits = self._oracle(_t_cross_entropy, np.asarray(logits, dtype=np.float64),
                                     np.asarray(labels).astype(np.int64))
        return float(loss), dlogits

    def _softmax(self, z, axis=-1):
        return self._oracle(_t_softmax(int(axis), False), np.asarray(z, dtype=np.float64))

    def _log_softmax(self, z, axis=-1):
        return self._oracle(_t_softmax(int(axis), True), np.asarray(z, dtype=np.float64))

    def _adam(self, w, dw, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        w, dw = np.asarray(w, dtype=np.float64), np.asarray(dw, dtype=np.float64)
        state = dict(state) if isinstance(state, dict) else {}
        step = int(state.get("step", 0)) + 1
        m = np.asarray(state.get("exp_avg", np.zeros_like(w)), dtype=np.float64)
        v = np.asarray(state.get("exp_avg_sq", np.zeros_like(w)), dtype=np.float64)
        new_w, m, v = self._oracle(_t_adam(float(lr), float(betas[0]), float(betas[1]), float(eps), step), w, dw, m, v)
        state.update(step=step, exp_avg=m, exp_avg_sq=v)
        return new_w, state


def _stand_in_source(module: str, functions: set[str], findings: list[Finding]) -> str:
    lines = [f'"""Written by the grader: {module}.py as the capstone sees it.',
             "",
             "Your own functions, except those that fail their own exercise, whose calls the grader",
             "answers with PyTorch's values (so this exercise grades your composition on its own):",
             *[f"- {f.short}" for f in findings if f.layer.module == module],
             '"""',
             "import _grader_callback",
             "",
             "try:",
             f"    from _student_{module} import *  # noqa: F401,F403 (your functions that pass)",
             "except Exception:  # your file does not import: every function of it comes from the grader",
             "    pass",
             ""]
    for func in sorted(functions):
        lines += ["", f"def {func}(*args, **kwargs):",
                  f"    return _grader_callback.call({module + '.' + func!r}, list(args), kwargs)", ""]
    return "\n".join(lines)


def prepare(companions: dict[str, Path], limits, forbidden, oracle, seed_rng: np.random.Generator
            ) -> tuple[StandIns, dict[str, Path], Path | None]:
    """Probe the student's ``companions`` (module -> file) and return the stand-ins, the
    companions the capstone's sandbox gets (stand-ins and ``_student_*`` modules where a
    function failed), and a temporary folder to remove afterwards (None if none)."""
    stand_ins = StandIns(oracle)
    layers = [layer for module in companions for layer in LAYERS.get(module, [])]
    if not layers:
        return stand_ins, dict(companions), None
    tmp = Path(tempfile.mkdtemp(prefix="grader-capstone-"))
    try:
        imports = []
        for layer in layers:
            for func in layer.functions:
                imports += ["try:", f"    from {layer.module} import {func}", "except Exception:", "    pass"]
        (tmp / "_capstone_layers.py").write_text("\n".join(imports) + "\n")
        with Sandbox(tmp / "_capstone_layers.py", "_capstone_layers", limits, forbidden,
                     display_name="your layers", companions=companions) as box:
            probe = _Probe(box, oracle, seed_rng)
            for layer in layers:
                found = PROBES[layer.functions[0]](probe, layer)
                stand_ins.findings += found
                if found:
                    stand_ins.replaced.setdefault(layer.module, set()).update(layer.functions)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    result = dict(companions)
    for module, functions in stand_ins.replaced.items():
        result[f"_student_{module}"] = companions[module]
        (tmp / f"{module}.py").write_text(_stand_in_source(module, functions, stand_ins.findings))
        result[module] = tmp / f"{module}.py"
    return stand_ins, result, tmp
