"""Holberton's update_variables_* functions behind thin wrappers: EMA momentum, no nesterov,
no weight decay, eps inside Adam's root, Adadelta without lr."""
# mistake: exponentially weighted momentum
# mistake: nesterov=True was ignored
# mistake: weight_decay was ignored
# mistake: epsilon inside the square root: PyTorch divides by sqrt(v_hat) + eps
# mistake: not multiplied by lr
import numpy as np


def update_variables_momentum(alpha, beta1, var, grad, v):
    """Holberton / deeplearning.ai momentum."""
    v = beta1 * v + (1 - beta1) * grad
    return var - alpha * v, v


def sgd(w, dw, state, lr=1e-2, momentum=0.0, nesterov=False, weight_decay=0.0):
    w2, v = update_variables_momentum(lr, momentum, w, dw, state.get("momentum_buffer", np.zeros_like(w)))
    return w2, {"momentum_buffer": v}


def update_variables_RMSProp(alpha, beta2, epsilon, var, grad, s):
    s = beta2 * s + (1 - beta2) * grad ** 2
    return var - alpha * grad / (np.sqrt(s) + epsilon), s


def rmsprop(w, dw, state, lr=1e-2, alpha=0.99, eps=1e-8):
    w2, s = update_variables_RMSProp(lr, alpha, eps, w, dw, state.get("square_avg", np.zeros_like(w)))
    return w2, {"square_avg": s}


def update_variables_Adam(alpha, beta1, beta2, epsilon, var, grad, v, s, t):
    v = beta1 * v + (1 - beta1) * grad
    s = beta2 * s + (1 - beta2) * grad ** 2
    v_c = v / (1 - beta1 ** t)
    s_c = s / (1 - beta2 ** t)
    return var - alpha * v_c / (np.sqrt(s_c + epsilon)), v, s


def adam(w, dw, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    t = state.get("step", 0) + 1
    w2, v, s = update_variables_Adam(lr, betas[0], betas[1], eps, w, dw, state.get("exp_avg", np.zeros_like(w)),
                                     state.get("exp_avg_sq", np.zeros_like(w)), t)
    return w2, {"step": t, "exp_avg": v, "exp_avg_sq": s}


def adagrad(w, dw, state, lr=1e-2, eps=1e-10):
    s = state.get("sum", 0) + dw ** 2
    return w - lr * dw / (np.sqrt(s) + eps), {"sum": s}


def adadelta(w, dw, state, lr=1.0, rho=0.9, eps=1e-6):
    sq = rho * state.get("square_avg", 0) + (1 - rho) * dw ** 2
    acc = state.get("acc_delta", 0)
    delta = np.sqrt(acc + eps) / np.sqrt(sq + eps) * dw
    return w - delta, {"square_avg": sq, "acc_delta": rho * acc + (1 - rho) * delta ** 2}
