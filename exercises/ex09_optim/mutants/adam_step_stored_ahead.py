"""Adam corrects with the right t but stores t + 1 as the step count."""
# expect-hint: yours is one ahead

import numpy as np


def sgd(w, dw, state, lr=1e-2, momentum=0.0, nesterov=False, weight_decay=0.0):
    state = dict(state)
    g = dw + weight_decay * w if weight_decay != 0 else dw
    if momentum != 0:
        buf = state.get("momentum_buffer")
        buf = np.array(g, dtype=np.float64) if buf is None else momentum * buf + g   # first step: buf = g
        state["momentum_buffer"] = buf
        g = g + momentum * buf if nesterov else buf
    return w - lr * g, state


def adagrad(w, dw, state, lr=1e-2, eps=1e-10):
    state = dict(state)
    s = state.get("sum", np.zeros_like(w)) + dw * dw
    state["sum"] = s
    return w - lr * dw / (np.sqrt(s) + eps), state                                 # eps outside the root


def rmsprop(w, dw, state, lr=1e-2, alpha=0.99, eps=1e-8):
    state = dict(state)
    s = alpha * state.get("square_avg", np.zeros_like(w)) + (1 - alpha) * dw * dw
    state["square_avg"] = s
    return w - lr * dw / (np.sqrt(s) + eps), state


def adadelta(w, dw, state, lr=1.0, rho=0.9, eps=1e-6):
    state = dict(state)
    s = rho * state.get("square_avg", np.zeros_like(w)) + (1 - rho) * dw * dw
    acc = state.get("acc_delta", np.zeros_like(w))
    delta = np.sqrt(acc + eps) / np.sqrt(s + eps) * dw                              # eps inside both roots
    state["square_avg"] = s
    state["acc_delta"] = rho * acc + (1 - rho) * delta * delta
    return w - lr * delta, state


def adam(w, dw, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    state = dict(state)
    t = state.get("step", 0) + 1
    m = beta1 * state.get("exp_avg", np.zeros_like(w)) + (1 - beta1) * dw
    v = beta2 * state.get("exp_avg_sq", np.zeros_like(w)) + (1 - beta2) * dw * dw
    state.update(step=t + 1, exp_avg=m, exp_avg_sq=v)
    bias1, bias2 = 1 - beta1 ** t, 1 - beta2 ** t
    denom = np.sqrt(v) / np.sqrt(bias2) + eps                                       # eps after bias correction
    return w - lr / bias1 * m / denom, state
