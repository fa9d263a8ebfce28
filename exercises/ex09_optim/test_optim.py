"""Grader for ex09_optim: the student's one-step optimizers against torch.optim, step after step.

Points, tolerances and limits are in exercise.yaml. Run with
``grader check ex09`` or ``pytest exercises/ex09_optim``.

Every run starts from ``state = {}`` and hands the student's returned state
back on the next step (as plain data); the new parameters and PyTorch's named
state entries are compared with torch.optim after every step. Wrong variants
(textbook forms, swapped decay rates, missing bias correction...) are run
alongside in the oracle, so that a student who implemented one of them is told
which.
"""

import itertools
from functools import partial

import numpy as np
import torch

from grader import torch_optim
from grader.compare import describe
from grader.sandbox.client import StudentError
from grader.sandbox.wire import Opaque

# -- hints ---------------------------------------------------------------------

LR_INSIDE = ("this is the textbook momentum v = γv + η∇J, w -= v (learning rate inside the buffer): PyTorch "
             "keeps buf = momentum * buf + g without lr and steps w -= lr * buf. The two agree only while lr "
             "is constant, and the stored momentum_buffer differs by the factor lr")
CS231N_MOMENTUM = ("this is CS231n's momentum v = μv - η∇J, w += v: PyTorch's momentum_buffer is "
                   "buf = momentum * buf + g (no lr, no minus sign), and w -= lr * buf")
EMA_MOMENTUM = ("this is the exponentially weighted momentum v = βv + (1 - β)∇J: PyTorch's buffer has no "
                "(1 - momentum) factor, buf = momentum * buf + g (buf = g on the first step), w -= lr * buf")
MOMENTUM_IGNORED = "momentum was ignored: keep buf = momentum * buf + g in the state and step w -= lr * buf"
NESTEROV_IGNORED = ("nesterov=True was ignored: with Nesterov momentum the step is w -= lr * (g + momentum * buf), "
                    "with buf already updated")
DECAY_IGNORED = ("weight_decay was ignored: PyTorch adds it to the gradient, g = dw + weight_decay * w, before "
                 "anything else (momentum included)")
DECAY_DECOUPLED = ("weight decay was applied separately (w -= lr * weight_decay * w, decoupled as in AdamW): "
                   "PyTorch's SGD adds it to the gradient, g = dw + weight_decay * w, so it goes through the "
                   "momentum buffer")
DECAY_SIGN = "the weight decay term has the wrong sign: g = dw + weight_decay * w"

ADAGRAD_EPS_INSIDE = ("epsilon inside the square root (the textbook's g / sqrt(G + ε)): PyTorch divides by "
                      "sqrt(sum) + eps")
ADAGRAD_OLD_SUM = "the step used the sum before adding this step's g * g: update sum first, then divide by its root"
RMS_EPS_INSIDE = ("epsilon inside the square root (g / sqrt(E[g²] + ε), as in Hinton's slides): PyTorch divides "
                  "by sqrt(square_avg) + eps")
ADAGRAD_NO_SQRT = ("the step divides by the sum of squares itself: divide by its square root, "
                   "w - lr * g / (np.sqrt(sum) + eps)")
RMS_NO_SQRT = ("the step divides by square_avg itself: divide by its square root (the R in RMSprop), "
               "w - lr * g / (np.sqrt(square_avg) + eps)")
RMS_SWAPPED = ("the decay rates are swapped: square_avg = alpha * square_avg + (1 - alpha) * g * g "
               "(alpha weighs the OLD average)")
RMS_OLD_AVG = "the step used square_avg before this step's update: update square_avg first, then divide"
ADADELTA_NO_LR = ("the update is not multiplied by lr: Zeiler's Adadelta has no learning rate, PyTorch's steps "
                  "w -= lr * delta (and acc_delta accumulates delta itself, without lr)")
ADADELTA_LR_IN_ACC = ("acc_delta accumulated the update with lr: PyTorch stores "
                      "acc_delta = rho * acc_delta + (1 - rho) * delta**2 and steps w -= lr * delta")
ADADELTA_EPS_OUTSIDE = ("eps belongs inside both square roots: delta = sqrt(acc_delta + eps) / "
                        "sqrt(square_avg + eps) * g")
ADADELTA_SWAPPED = ("the decay rates are swapped: square_avg = rho * square_avg + (1 - rho) * g**2 (rho weighs "
                    "the OLD average), acc_delta likewise")
ADADELTA_OLD_SQ = "delta used square_avg before this step's update: update square_avg with g**2 first"
ADAM_NO_BIAS = ("bias correction is missing: divide exp_avg by (1 - beta1**t) and sqrt(exp_avg_sq) by "
                "sqrt(1 - beta2**t), t = the step count (1 on the first step)")
ADAM_NO_BIAS1 = "the bias correction of exp_avg is missing: m_hat = exp_avg / (1 - beta1**t)"
ADAM_NO_BIAS2 = "the bias correction of exp_avg_sq is missing: v_hat = exp_avg_sq / (1 - beta2**t)"
ADAM_SWAPPED = ("the decay rates are swapped: exp_avg = beta1 * exp_avg + (1 - beta1) * g and "
                "exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g**2 (the beta weighs the OLD average)")
ADAM_SWAPPED_1 = ("exp_avg's decay rate is swapped: exp_avg = beta1 * exp_avg + (1 - beta1) * g "
                  "(beta1 weighs the OLD average)")
ADAM_SWAPPED_2 = ("exp_avg_sq's decay rate is swapped: exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g**2 "
                  "(beta2 weighs the OLD average)")
ADAM_EXCHANGED = "beta1 and beta2 are exchanged: beta1 goes with exp_avg (first moment), beta2 with exp_avg_sq"
ADAM_T_LATE = ("the bias correction uses the step count one too high (t + 1: a counter that starts at 1 and is "
               "incremented before use, or incremented twice): on the first step t = 1, so divide by 1 - beta1**1")
ADAM_T_EARLY = ("the bias correction uses the step count before it is incremented (t = 0 on the first step: "
                "1 - beta1**0 = 0, a division by zero): increment the step first, t = state.get('step', 0) + 1, "
                "then correct with that t")
ADAM_T_FROZEN = ("the step count never advances, so the bias correction stays at t = 1: store the incremented "
                 "count in the state (new_state['step'] = t) and correct with 1 - beta**t")
ADAM_STEP_STATE = ("new_state['step'] is the number of steps taken, 1 after the first call and one more after "
                   "each call: t = state.get('step', 0) + 1, stored back as new_state['step'] = t")
ADAM_BETA2_SQUARED = ("the second bias correction uses beta2 ** 2 where beta2 ** t was meant: "
                      "v_hat = exp_avg_sq / (1 - beta2**t), t the step count")
ADAM_BIAS_PLUS = ("the bias correction adds beta**t: it divides by 1 - beta1**t and 1 - beta2**t (on the first "
                  "step 1 - beta1 = 0.1 for beta1 = 0.9, which scales exp_avg back up to g), not by 1 + beta**t")
ADAM_EPS_INSIDE = "epsilon inside the square root: PyTorch divides by sqrt(v_hat) + eps, not sqrt(v_hat + eps)"
ADAM_KINGMA = ("this is the paper's 'efficient' form, lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t) and "
               "w -= lr_t * m / (sqrt(v) + eps): there eps is added before the bias correction; PyTorch adds it "
               "after, w -= lr * m_hat / (sqrt(v_hat) + eps)")

# -- the oracle: torch.optim, and the wrong variants written out ----------------------

TORCH = {"sgd": torch.optim.SGD, "adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop,
         "adadelta": torch.optim.Adadelta, "adam": torch.optim.Adam}


def state_keys(name, hp):
    return {"sgd": ["momentum_buffer"] if hp.get("momentum", 0) else [],
            "adagrad": ["sum"], "rmsprop": ["square_avg"], "adadelta": ["square_avg", "acc_delta"],
            "adam": ["step", "exp_avg", "exp_avg_sq"]}[name]


def torch_run(w0, grads, *, name, hp, lrs=None):
    """torch.optim, one step per gradient: the parameters and the named state after every step.
    (torch_optim runs torch.optim's own constructor and step, without importing torch's compiler.)"""
    p = w0.clone().requires_grad_(True)
    opt = torch_optim.make(TORCH[name], [p], **hp)
    out = []
    for t in range(grads.shape[0]):
        if lrs is not None:
            opt.param_groups[0]["lr"] = lrs[t]
        p.grad = grads[t].clone()
        torch_optim.step(opt)
        entry = {"w": p.detach().clone()}
        entry.update({k: opt.state[p][k].detach().clone() for k in state_keys(name, hp)})
        out.append(entry)
    return out


def _sqrt(t):
    # ** 0.5, not torch.sqrt: the rules run on tensors (in the oracle) and on NumPy arrays
    # (mistakes combined lazily, on a re-check without torch).
    return t ** 0.5


def sgd_rule(w, g, st, lr, momentum=0.0, nesterov=False, weight_decay=0.0, *, form="pytorch",
             nesterov_mode="pytorch", decay="coupled"):
    w_old = w
    if weight_decay and decay in ("coupled", "sign"):
        g = g + weight_decay * w if decay == "coupled" else g - weight_decay * w
    nest = nesterov and nesterov_mode != "ignored"
    if momentum and form != "no_momentum":
        old = st.get("momentum_buffer")
        if form == "pytorch":
            buf = g * 1 if old is None else momentum * old + g
            d = g + momentum * buf if nest else buf
            step = lr * d
        elif form == "lr_inside":       # v = mu v + lr g; w -= v
            buf = lr * g if old is None else momentum * old + lr * g
            step = lr * g + momentum * buf if nest else buf
        elif form == "cs231n":          # v = mu v - lr g; w += v
            buf = -lr * g if old is None else momentum * old - lr * g
            step = lr * g - momentum * buf if nest else -buf
        else:                           # "ema": v = mu v + (1 - mu) g; w -= lr v
            buf = (1 - momentum) * g if old is None else momentum * old + (1 - momentum) * g
            step = lr * (g + momentum * buf) if nest else lr * buf
        st["momentum_buffer"] = buf
    else:
        step = lr * g
        if momentum:
            st["momentum_buffer"] = g * 1
    w = w - step
    if weight_decay and decay == "decoupled":
        w = w - lr * weight_decay * w_old
    return w, st


def adagrad_rule(w, g, st, lr, eps=1e-10, *, eps_inside=False, old_sum=False, no_sqrt=False):
    old = st.get("sum", 0 * w)
    s = old + g * g
    st["sum"] = s
    used = old if old_sum else s
    denom = _sqrt(used + eps) if eps_inside else _sqrt(used) + eps
    if no_sqrt:
        denom = used + eps
    return w - lr * g / denom, st


def rmsprop_rule(w, g, st, lr, alpha=0.99, eps=1e-8, *, eps_inside=False, swapped=False, old_avg=False,
                 no_sqrt=False):
    old = st.get("square_avg", 0 * w)
    a, b = (1 - alpha, alpha) if swapped else (alpha, 1 - alpha)
    s = a * old + b * g * g
    st["square_avg"] = s
    used = old if old_avg else s
    denom = _sqrt(used + eps) if eps_inside else _sqrt(used) + eps
    if no_sqrt:
        denom = used + eps
    return w - lr * g / denom, st


def adadelta_rule(w, g, st, lr=1.0, rho=0.9, eps=1e-6, *, no_lr=False, lr_in_acc=False, eps_outside=False,
                  swapped=False, old_sq=False):
    a, b = (1 - rho, rho) if swapped else (rho, 1 - rho)
    sq_old = st.get("square_avg", 0 * w)
    acc = st.get("acc_delta", 0 * w)
    sq = a * sq_old + b * g * g
    used = sq_old if old_sq else sq
    if eps_outside:
        delta = (_sqrt(acc) + eps) / (_sqrt(used) + eps) * g
    else:
        delta = _sqrt(acc + eps) / _sqrt(used + eps) * g
    step = delta if no_lr else lr * delta
    acc = a * acc + b * (step * step if lr_in_acc else delta * delta)
    st.update(square_avg=sq, acc_delta=acc)
    return w - step, st


def adam_rule(w, g, st, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, *, bias="both", swapped="none",
              exchanged=False, eps_mode="pytorch", t_mode="pytorch", beta2_squared=False, bias_plus=False):
    b1, b2 = betas[::-1] if exchanged else betas
    t = st.get("step", 0) + 1
    t_stored = t
    if t_mode == "frozen":      # the counter never moves: every step is corrected as the first
        t_stored = t = 1
    elif t_mode == "late":      # corrected as if one step later
        t = t + 1
    elif t_mode == "early":     # corrected with the count before this step (0 on the first)
        t = t - 1
    m_old = st.get("exp_avg", 0 * w)
    v_old = st.get("exp_avg_sq", 0 * w)
    m = (1 - b1) * m_old + b1 * g if swapped in ("both", "b1") else b1 * m_old + (1 - b1) * g
    v = (1 - b2) * v_old + b2 * g * g if swapped in ("both", "b2") else b2 * v_old + (1 - b2) * g * g
    sign = 1 if bias_plus else -1  # 1 + beta**t: a sign slip seen in real code
    bc1 = 1 + sign * b1 ** t if bias in ("both", "m") else 1.0
    bc2 = 1 + sign * b2 ** (2 if beta2_squared else t) if bias in ("both", "v") else 1.0
    if eps_mode == "inside":
        update = (m / bc1) / _sqrt(v / bc2 + eps)
    elif eps_mode == "kingma":
        update = (bc2 ** 0.5 / bc1) * m / (_sqrt(v) + eps)
    else:
        update = (m / bc1) / (_sqrt(v) / bc2 ** 0.5 + eps)
    st.update(step=t_stored, exp_avg=m, exp_avg_sq=v)
    return w - lr * update, st


RULES = {"sgd": sgd_rule, "adagrad": adagrad_rule, "rmsprop": rmsprop_rule, "adadelta": adadelta_rule,
         "adam": adam_rule}


def manual_run(w0, grads, *, name, hp, knobs, lrs=None):
    w, st, out = w0.clone(), {}, []
    for t in range(grads.shape[0]):
        kw = dict(hp)
        if lrs is not None:
            kw["lr"] = lrs[t]
        w, st = RULES[name](w, grads[t], dict(st), **kw, **knobs)
        entry = {"w": w.clone()}
        for k, v in st.items():
            entry[k] = v.clone() if torch.is_tensor(v) else torch.tensor(float(v), dtype=torch.float64)
        out.append(entry)
    return out


SGD_MOMENTUM_VARIANTS = {
    LR_INSIDE: dict(form="lr_inside"),
    CS231N_MOMENTUM: dict(form="cs231n"),
    EMA_MOMENTUM: dict(form="ema"),
    MOMENTUM_IGNORED: dict(form="no_momentum"),
}
SGD_NESTEROV_VARIANTS = {
    NESTEROV_IGNORED: dict(nesterov_mode="ignored"),
    **SGD_MOMENTUM_VARIANTS,
}
SGD_DECAY_VARIANTS = {
    DECAY_IGNORED: dict(decay="ignored"),
    NESTEROV_IGNORED: dict(nesterov_mode="ignored"),
    DECAY_DECOUPLED: dict(decay="decoupled"),
    DECAY_SIGN: dict(decay="sign"),
    **SGD_MOMENTUM_VARIANTS,
}
ADAGRAD_VARIANTS = {ADAGRAD_EPS_INSIDE: dict(eps_inside=True), ADAGRAD_OLD_SUM: dict(old_sum=True),
                    ADAGRAD_NO_SQRT: dict(no_sqrt=True)}
RMSPROP_VARIANTS = {RMS_SWAPPED: dict(swapped=True), RMS_EPS_INSIDE: dict(eps_inside=True),
                    RMS_OLD_AVG: dict(old_avg=True), RMS_NO_SQRT: dict(no_sqrt=True)}
ADADELTA_VARIANTS = {
    ADADELTA_NO_LR: dict(no_lr=True),
    ADADELTA_LR_IN_ACC: dict(lr_in_acc=True),
    ADADELTA_EPS_OUTSIDE: dict(eps_outside=True),
    ADADELTA_SWAPPED: dict(swapped=True),
    ADADELTA_OLD_SQ: dict(old_sq=True),
}
ADAM_VARIANTS = {
    ADAM_NO_BIAS: dict(bias="none"),
    ADAM_NO_BIAS1: dict(bias="v"),
    ADAM_NO_BIAS2: dict(bias="m"),
    ADAM_SWAPPED: dict(swapped="both"),
    ADAM_SWAPPED_1: dict(swapped="b1"),
    ADAM_SWAPPED_2: dict(swapped="b2"),
    ADAM_EXCHANGED: dict(exchanged=True),
    ADAM_EPS_INSIDE: dict(eps_mode="inside"),
    ADAM_KINGMA: dict(eps_mode="kingma"),
    ADAM_T_LATE: dict(t_mode="late"),
    ADAM_T_EARLY: dict(t_mode="early"),
    ADAM_T_FROZEN: dict(t_mode="frozen"),
    ADAM_BETA2_SQUARED: dict(beta2_squared=True),
    ADAM_BIAS_PLUS: dict(bias_plus=True),
}


# -- running the student, step by step --------------------------------------------------

def make_grads(rng, steps, shape, scale):
    """Gradients that change every step around a persistent direction (so momentum matters)."""
    drift = rng.normal(size=shape)
    return scale * (0.7 * drift + rng.normal(size=(steps,) + tuple(shape)))


def _has_opaque(value):
    if isinstance(value, Opaque):
        return True
    if isinstance(value, dict):
        return any(_has_opaque(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_opaque(v) for v in value)
    return False


def _same(a, b):
    try:
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):  # not numbers: not the same
        return False
    if a.shape != b.shape:
        return False
    finite = np.isfinite(b)
    scale = float(np.max(np.abs(b[finite]), initial=0.0))
    with np.errstate(invalid="ignore"):
        # inf is the same as inf only (NaN as NaN): an inf never stands for a finite value
        near = np.where(finite, np.abs(a - b) <= 1e-9 * scale + 1e-6 * np.abs(b), (a == b) | (np.isnan(a) & np.isnan(b)))
        return bool(np.all(near & (np.isfinite(a) == finite)))


def _distinct(mistakes, expected):
    """The variants whose value really differs from the expected one; variants that give
    the same value here are merged into one hint naming all of them."""
    groups = []  # [hints, value]
    for hint, wrong in mistakes.items():
        if _same(wrong.value, expected.value):
            continue
        for group in groups:
            if _same(wrong.value, group[1].value):
                group[0].append(hint)
                break
        else:
            groups.append([[hint], wrong])
    return {hints[0] if len(hints) == 1 else
            "one of these mistakes (they give the same value here): " + "; OR ".join(hints): wrong
            for hints, wrong in groups}


class _Value:
    """A mistake's value worked out in NumPy (the oracle's results have the same .value)."""

    def __init__(self, value):
        self.value = value


def np_run(w0, grads, *, name, hp, knobs, lrs=None):
    """manual_run in NumPy: the same rules, for mistakes combined only when a value is wrong."""
    w, st, out = np.array(w0, dtype=np.float64), {}, []
    for t in range(grads.shape[0]):
        kw = dict(hp)
        if lrs is not None:
            kw["lr"] = lrs[t]
        w, st = RULES[name](w, grads[t], dict(st), **kw, **knobs)
        out.append({"w": w, **{k: np.asarray(v, dtype=np.float64) for k, v in st.items()}})
    return out


def combinations(variants):
    """Two mistakes at once, from different families (the momentum's form and nesterov
    ignored, say): real code that follows another course's conventions makes several.
    Each keeps its own "Hint:" line, so that a summary counts each mistake once."""
    families: dict[tuple, list] = {}
    for hint, knobs in variants.items():
        families.setdefault(tuple(sorted(knobs)), []).append((hint, knobs))
    combos = {}
    for (k1, first), (k2, second) in itertools.combinations(families.items(), 2):
        if set(k1) & set(k2):
            continue
        for h1, kn1 in first:
            for h2, kn2 in second:
                combos[f"{h1}\nHint: {h2}"] = {**kn1, **kn2}
    return combos


def _with_combinations(single, combined, expected):
    """The single mistakes (merged where they agree), then the combined ones that no single explains."""
    out = _distinct(single, expected)
    taken = [v for v in out.values()] + [expected]
    for hint, wrong in combined().items():
        if not any(_same(wrong.value, t.value) for t in taken):
            out[hint] = wrong.value
            taken.append(wrong)
    return out


def _signature(name, kw):
    return f"{name}(w, dw, state, " + ", ".join(f"{k}={v!r}" for k, v in kw.items()) + ")"


def _unpack(check, value, where, keys):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        check.fail(f"{where}: must return a tuple (new_w, new_state); got {describe(value)}")
    new_w, new_state = value
    if keys:
        if not isinstance(new_state, dict):
            check.fail(f"{where}: new_state must be a dict holding {keys}; got {describe(new_state)}")
        missing = [k for k in keys if k not in new_state]
        if missing:
            check.fail(f"{where}: new_state is missing {missing} (it has {sorted(new_state)})\n"
                       f"Hint: the state must use PyTorch's names ({', '.join(keys)}); extra entries are allowed")
    elif new_state is not None and not isinstance(new_state, dict):
        check.fail(f"{where}: new_state must be a dict (it may be empty); got {describe(new_state)}")
    return new_w, new_state


def run_optimizer(student, oracle, check, rng, name, hp, *, shape=(4, 3), steps=6, scale=1.0, lrs=None,
                  variants=None):
    """Run the student's optimizer `steps` times from state = {}, feeding its own state back, and
    compare new_w and the named state entries with torch.optim after every step."""
    w0 = rng.normal(size=shape)
    grads = make_grads(rng, steps, shape, scale)
    expected = oracle(partial(torch_run, name=name, hp=hp, lrs=lrs), w0, grads)
    wrong = {hint: oracle(partial(manual_run, name=name, hp=hp, knobs=knobs, lrs=lrs), w0, grads)
             for hint, knobs in (variants or {}).items()}
    keys = state_keys(name, hp)
    combos = combinations(variants or {})
    runs = {}

    def combined(t, key):
        if not runs:  # worked out once, and only when some value is wrong
            for h, kn in combos.items():
                try:
                    with np.errstate(all="ignore"):
                        runs[h] = np_run(w0, grads, name=name, hp=hp, knobs=kn, lrs=lrs)
                except ArithmeticError:  # 1 - beta**0 in plain floats: that combination gives no value
                    pass
        return {h: _Value(r[t][key]) for h, r in runs.items() if key in r[t]}

    w, state = w0, {}
    for t in range(steps):
        kw = dict(hp)
        if lrs is not None:
            kw["lr"] = lrs[t]
        try:
            res = student.call(name, w, grads[t], state, **kw)
        except StudentError as exc:
            if name == "adam" and t == 0 and "ZeroDivisionError" in exc.cause:
                raise StudentError(f"{exc.cause}\nHint: {ADAM_T_EARLY}", exc.details, kind=exc.kind) from None
            raise
        where = (f"{_signature(name, kw)}, step {t + 1} of {steps}"
                 + (f" (state: what your step {t} returned)" if t else " (state = {})")
                 + (f", learning rate changing every step: {list(lrs)}" if lrs is not None else ""))
        new_w, new_state = _unpack(check, res.value, where, keys)
        # The hints are worked out only for a value that differs (most of a check's time otherwise).
        check.close(new_w, expected[t]["w"], f"new_w of {where}", inputs={"w": w},
                    mistakes=partial(_with_combinations, {h: v[t]["w"] for h, v in wrong.items()},
                                     partial(combined, t, "w"), expected[t]["w"]))
        for key in keys:
            what = f"new_state[{key!r}] of {where}"
            if key == "step":
                step_mistakes = {ADAM_STEP_STATE + " (here yours is one behind)": np.float64(t),
                                 ADAM_STEP_STATE + " (here yours is one ahead)": np.float64(t + 2)}
                if t > 1:
                    step_mistakes[ADAM_T_FROZEN] = np.float64(1.0)
                check.scalar(new_state[key], expected[t][key], what, mistakes=step_mistakes)
                continue
            mistakes = {h: v[t][key] for h, v in wrong.items() if key in v.value[t]}
            check.close(new_state[key], expected[t][key], what,
                        mistakes=partial(_with_combinations, mistakes, partial(combined, t, key), expected[t][key]))
        w = new_w
        # The state goes back as the plain data it came as; a value that is not plain data
        # (an object of the student's) is passed back by reference instead.
        state = res.ref(1) if _has_opaque(new_state) else new_state


# -- checks ------------------------------------------------------------------------------

def test_sgd_plain(student, oracle, check, rng):
    run_optimizer(student, oracle, check, rng, "sgd",
                  dict(lr=0.05, momentum=0.0, nesterov=False, weight_decay=0.0), steps=5)
    run_optimizer(student, oracle, check, rng, "sgd",
                  dict(lr=0.3, momentum=0.0, nesterov=False, weight_decay=0.0), shape=(6,), steps=5)


def test_sgd_momentum(student, oracle, check, rng):
    run_optimizer(student, oracle, check, rng, "sgd",
                  dict(lr=0.05, momentum=0.9, nesterov=False, weight_decay=0.0), variants=SGD_MOMENTUM_VARIANTS)
    run_optimizer(student, oracle, check, rng, "sgd",
                  dict(lr=0.2, momentum=0.6, nesterov=False, weight_decay=0.0), shape=(5,),
                  variants=SGD_MOMENTUM_VARIANTS)


def test_sgd_nesterov(student, oracle, check, rng):
    run_optimizer(student, oracle, check, rng, "sgd",
                  dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.0), variants=SGD_NESTEROV_VARIANTS)


def test_sgd_weight_decay(student, oracle, check, rng):
    run_optimizer(student, oracle, check, rng, "sgd",
                  dict(lr=0.1, momentum=0.0, nesterov=False, weight_decay=0.1), steps=5,
                  variants=SGD_DECAY_VARIANTS)
    run_optimizer(student, oracle, check, rng, "sgd",
                  dict(lr=0.05, momentum=0.9, nesterov=False, weight_decay=0.05), variants=SGD_DECAY_VARIANTS)
    run_optimizer(student, oracle, check, rng, "sgd",
                  dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.02), shape=(5,),
                  variants=SGD_DECAY_VARIANTS)


def test_sgd_lr_schedule(student, oracle, check, rng):
    lrs = [0.07, 0.03, 0.2, 0.02, 0.12, 0.05]   # never 1 - momentum, where textbook forms coincide
    run_optimizer(student, oracle, check, rng, "sgd",
                  dict(lr=lrs[0], momentum=0.9, nesterov=False, weight_decay=0.0), lrs=lrs,
                  variants=SGD_MOMENTUM_VARIANTS)
    run_optimizer(student, oracle, check, rng, "sgd",
                  dict(lr=lrs[0], momentum=0.7, nesterov=True, weight_decay=0.0), shape=(5,), lrs=lrs,
                  variants=SGD_NESTEROV_VARIANTS)


def test_adagrad(student, oracle, check, rng):
    run_optimizer(student, oracle, check, rng, "adagrad", dict(lr=0.1, eps=1e-10), variants=ADAGRAD_VARIANTS)
    run_optimizer(student, oracle, check, rng, "adagrad", dict(lr=0.5, eps=1e-10), shape=(5,),
                  scale=3.0, variants=ADAGRAD_VARIANTS)


def test_adagrad_eps(student, oracle, check, rng):
    # eps comparable with sqrt(sum): where it sits (inside or outside the root) shows.
    run_optimizer(student, oracle, check, rng, "adagrad", dict(lr=0.05, eps=1e-2), scale=0.02,
                  variants=ADAGRAD_VARIANTS)


def test_rmsprop(student, oracle, check, rng):
    run_optimizer(student, oracle, check, rng, "rmsprop", dict(lr=0.01, alpha=0.99, eps=1e-8),
                  variants=RMSPROP_VARIANTS)
    run_optimizer(student, oracle, check, rng, "rmsprop", dict(lr=0.05, alpha=0.8, eps=1e-8), shape=(5,),
                  scale=2.0, variants=RMSPROP_VARIANTS)


def test_rmsprop_eps(student, oracle, check, rng):
    run_optimizer(student, oracle, check, rng, "rmsprop", dict(lr=0.01, alpha=0.9, eps=1e-2), scale=0.02,
                  variants=RMSPROP_VARIANTS)


def test_adadelta(student, oracle, check, rng):
    run_optimizer(student, oracle, check, rng, "adadelta", dict(lr=0.5, rho=0.9, eps=1e-6),
                  variants=ADADELTA_VARIANTS)
    run_optimizer(student, oracle, check, rng, "adadelta", dict(lr=2.0, rho=0.95, eps=1e-4), shape=(5,),
                  scale=0.1, variants=ADADELTA_VARIANTS)


def test_adam(student, oracle, check, rng):
    run_optimizer(student, oracle, check, rng, "adam", dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8),
                  variants=ADAM_VARIANTS)
    run_optimizer(student, oracle, check, rng, "adam", dict(lr=0.1, betas=(0.8, 0.9), eps=1e-8), shape=(5,),
                  scale=0.5, variants=ADAM_VARIANTS)


def test_adam_eps(student, oracle, check, rng):
    # eps comparable with sqrt(v_hat), t from 1: where eps sits relative to the root and the
    # bias correction shows.
    run_optimizer(student, oracle, check, rng, "adam", dict(lr=0.05, betas=(0.85, 0.99), eps=1e-2),
                  scale=0.01, variants=ADAM_VARIANTS)


def test_inputs_unchanged(student, check, rng):
    for name, hp in [("sgd", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
                     ("adagrad", dict(lr=0.1, eps=1e-10)),
                     ("rmsprop", dict(lr=0.01, alpha=0.99, eps=1e-8)),
                     ("adadelta", dict(lr=1.0, rho=0.9, eps=1e-6)),
                     ("adam", dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8))]:
        w = rng.normal(size=(3, 4))
        state = {}
        for step in (1, 2):
            dw = rng.normal(size=(3, 4))
            res = student.call(name, w, dw, state, **hp)
            new_w, new_state = _unpack(check, res.value, f"{_signature(name, hp)}, step {step}",
                                       state_keys(name, hp))
            # The state may be updated in place (it is returned); w and dw may not.
            res.mutated = [m for m in res.mutated if m[0] in (0, 1)]
            check.no_mutation(res, f"{_signature(name, hp)}, step {step}", names=["w", "dw"])
            w, state = new_w, res.ref(1) if _has_opaque(new_state) else new_state
