"""AdamW-style decoupled weight decay in SGD, with deeplearning.ai's momentum average."""
# mistake: decoupled
# mistake: exponentially weighted momentum
import numpy as np


def sgd(w, dw, state, lr=1e-2, momentum=0.0, nesterov=False, weight_decay=0.0):
    v = momentum * state.get("momentum_buffer", np.zeros_like(w)) + (1 - momentum) * dw
    if nesterov:
        step = dw + momentum * v
    else:
        step = v
    return w - lr * step - lr * weight_decay * w, {"momentum_buffer": v}


def adagrad(w, dw, state, lr=1e-2, eps=1e-10):
    s = state.get("sum", 0) + dw ** 2
    return w - lr * dw / (np.sqrt(s) + eps), {"sum": s}


def rmsprop(w, dw, state, lr=1e-2, alpha=0.99, eps=1e-8):
    s = alpha * state.get("square_avg", 0) + (1 - alpha) * dw ** 2
    return w - lr * dw / (np.sqrt(s) + eps), {"square_avg": s}


def adadelta(w, dw, state, lr=1.0, rho=0.9, eps=1e-6):
    sq = rho * state.get("square_avg", 0) + (1 - rho) * dw ** 2
    acc = state.get("acc_delta", 0)
    delta = np.sqrt(acc + eps) / np.sqrt(sq + eps) * dw
    return w - lr * delta, {"square_avg": sq, "acc_delta": rho * acc + (1 - rho) * delta ** 2}


def adam(w, dw, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    t = state.get("step", 0) + 1
    m = b1 * state.get("exp_avg", 0) + (1 - b1) * dw
    v = b2 * state.get("exp_avg_sq", 0) + (1 - b2) * dw ** 2
    return w - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), {"step": t, "exp_avg": m, "exp_avg_sq": v}
