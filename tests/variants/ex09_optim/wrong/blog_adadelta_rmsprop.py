"""Adadelta as in Zeiler's paper (no learning rate) and RMSprop with eps inside the root, from a blog."""
# mistake: not multiplied by lr
# mistake: Hinton
import numpy as np


def sgd(w, dw, state, lr=1e-2, momentum=0.0, nesterov=False, weight_decay=0.0):
    g = dw + weight_decay * w
    if momentum == 0:
        return w - lr * g, {}
    buf = g if "momentum_buffer" not in state else momentum * state["momentum_buffer"] + g
    return w - lr * ((g + momentum * buf) if nesterov else buf), {"momentum_buffer": buf}


def adagrad(w, dw, state, lr=1e-2, eps=1e-10):
    s = state.get("sum", 0) + dw ** 2
    return w - lr * dw / (np.sqrt(s) + eps), {"sum": s}


def rmsprop(w, dw, state, lr=1e-2, alpha=0.99, eps=1e-8):
    E = alpha * state.get("square_avg", 0) + (1 - alpha) * dw ** 2
    return w - lr * dw / np.sqrt(E + eps), {"square_avg": E}


def adadelta(w, dw, state, lr=1.0, rho=0.9, eps=1e-6):
    Eg = rho * state.get("square_avg", 0) + (1 - rho) * dw ** 2
    Ex = state.get("acc_delta", 0)
    delta = -np.sqrt(Ex + eps) / np.sqrt(Eg + eps) * dw
    Ex = rho * Ex + (1 - rho) * delta ** 2
    return w + delta, {"square_avg": Eg, "acc_delta": Ex}


def adam(w, dw, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    t = state.get("step", 0) + 1
    m = b1 * state.get("exp_avg", 0) + (1 - b1) * dw
    v = b2 * state.get("exp_avg_sq", 0) + (1 - b2) * dw ** 2
    return w - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), {"step": t, "exp_avg": m, "exp_avg_sq": v}
