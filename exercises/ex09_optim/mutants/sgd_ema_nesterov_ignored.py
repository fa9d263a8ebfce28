"""Holberton/deeplearning.ai momentum (v = βv + (1 - β)∇J) that also ignores nesterov=True.

Two mistakes at once: each must be named (the grader combines known mistakes).
"""
# expect-hint: nesterov=True was ignored
import numpy as np


def sgd(w, dw, state, lr=1e-2, momentum=0.0, nesterov=False, weight_decay=0.0):
    g = dw + weight_decay * w
    if momentum == 0:
        return w - lr * g, state
    buf = momentum * state.get("momentum_buffer", 0) + (1 - momentum) * g
    step = buf  # nesterov is not supported by this course's update
    return w - lr * step, {"momentum_buffer": buf}


def adagrad(w, dw, state, lr=1e-2, eps=1e-10):
    s = state.get("sum", 0) + dw ** 2
    return w - lr * dw / (np.sqrt(s) + eps), {"sum": s}


def rmsprop(w, dw, state, lr=1e-2, alpha=0.99, eps=1e-8):
    s = alpha * state.get("square_avg", 0) + (1 - alpha) * dw ** 2
    return w - lr * dw / (np.sqrt(s) + eps), {"square_avg": s}


def adadelta(w, dw, state, lr=1.0, rho=0.9, eps=1e-6):
    s = rho * state.get("square_avg", 0) + (1 - rho) * dw ** 2
    acc = state.get("acc_delta", 0)
    delta = np.sqrt(acc + eps) / np.sqrt(s + eps) * dw
    acc = rho * acc + (1 - rho) * delta ** 2
    return w - lr * delta, {"square_avg": s, "acc_delta": acc}


def adam(w, dw, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    t = state.get("step", 0) + 1
    m = beta1 * state.get("exp_avg", 0) + (1 - beta1) * dw
    v = beta2 * state.get("exp_avg_sq", 0) + (1 - beta2) * dw ** 2
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), {"step": t, "exp_avg": m, "exp_avg_sq": v}
