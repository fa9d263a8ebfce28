"""Exercise 9: optimizers, one step at a time.

Write five optimizers with NumPy only. Each one is a single step,

    new_w, new_state = optimizer(w, dw, state, **hyperparameters)

that must follow torch.optim exactly, step after step. `state` is a dict that
starts empty ({}); whatever you return as new_state is handed back to you as
`state` on the next step (as plain data: arrays, numbers, tuples, lists and
dicts of those). Use PyTorch's names for the entries listed below: they are
compared with torch.optim's state after every step. Extra entries are allowed.

README.md shows the textbook forms beside PyTorch's (they differ: learning
rate inside the momentum buffer, epsilon inside the square root...): PyTorch's
is the one graded. Check your work with

    grader check ex09
"""

import numpy as np


def sgd(w, dw, state, lr=1e-2, momentum=0.0, nesterov=False, weight_decay=0.0):
    """One step of stochastic gradient descent, as torch.optim.SGD (dampening 0).

    Args:
        w: parameters, an array of any shape (float64).
        dw: gradient of the loss with respect to w, same shape.
        state: dict from your previous step ({} on the first step).
        lr: learning rate.
        momentum: momentum factor mu (0 for plain SGD).
        nesterov: use Nesterov momentum (only with momentum > 0).
        weight_decay: L2 penalty, added to the gradient: g = dw + weight_decay * w.

    Returns:
        (new_w, new_state): new_w of w's shape. With momentum > 0, new_state
        holds "momentum_buffer" (w's shape), PyTorch's buffer: buf = g on the
        first step, then buf = momentum * buf + g. Plain SGD (momentum 0) need
        store nothing (return {} or state).
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("sgd")


def adagrad(w, dw, state, lr=1e-2, eps=1e-10):
    """One step of Adagrad, as torch.optim.Adagrad (no lr decay, accumulator starts at 0).

    Args:
        w, dw: parameters and gradient, same shape (float64).
        state: dict from your previous step ({} on the first step).
        lr: learning rate.
        eps: added to the square root of the sum, for stability.

    Returns:
        (new_w, new_state): new_w of w's shape; new_state holds "sum", the
        running sum of squared gradients (w's shape).
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("adagrad")


def rmsprop(w, dw, state, lr=1e-2, alpha=0.99, eps=1e-8):
    """One step of RMSprop, as torch.optim.RMSprop (not centered, no momentum).

    Args:
        w, dw: parameters and gradient, same shape (float64).
        state: dict from your previous step ({} on the first step).
        lr: learning rate.
        alpha: decay rate of the running average of squared gradients.
        eps: added to the square root of that average, for stability.

    Returns:
        (new_w, new_state): new_w of w's shape; new_state holds "square_avg"
        (w's shape), which starts at 0.
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("rmsprop")


def adadelta(w, dw, state, lr=1.0, rho=0.9, eps=1e-6):
    """One step of Adadelta, as torch.optim.Adadelta.

    Args:
        w, dw: parameters and gradient, same shape (float64).
        state: dict from your previous step ({} on the first step).
        lr: learning rate, multiplying the Adadelta update.
        rho: decay rate of both running averages.
        eps: added inside both square roots.

    Returns:
        (new_w, new_state): new_w of w's shape; new_state holds "square_avg"
        (running average of squared gradients) and "acc_delta" (running
        average of squared updates), both of w's shape and starting at 0.
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("adadelta")


def adam(w, dw, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """One step of Adam, as torch.optim.Adam (no weight decay, no amsgrad).

    Args:
        w, dw: parameters and gradient, same shape (float64).
        state: dict from your previous step ({} on the first step).
        lr: learning rate.
        betas: (beta1, beta2), decay rates of the first and second moment estimates.
        eps: added to the bias-corrected square root of the second moment.

    Returns:
        (new_w, new_state): new_w of w's shape; new_state holds "step" (the
        number of steps taken, including this one: a Python int or float, or a
        0-d array), "exp_avg" and "exp_avg_sq" (the moment estimates before
        bias correction, w's shape).
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("adam")
