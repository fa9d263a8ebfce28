"""The momentum convention swapped, and a running variance wrong in a way no modelled mistake
explains: the momentum hint must not pass for the whole story."""
# expect-hint: the running variance has a mistake of its own
import numpy as np


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1, eps=1e-5):
    if x.ndim == 4:
        axes, shape = (0, 2, 3), (1, -1, 1, 1)
    else:
        axes, shape = (0,), (1, -1)
    if training:
        mu = x.mean(axis=axes)
        var = x.var(axis=axes)
        n = x.size // x.shape[1]
        new_rm = momentum * running_mean + (1 - momentum) * mu
        new_rv = momentum * running_var + (1 - momentum) * np.abs(var * n / (n - 1) - 0.01)
    else:
        mu, var = running_mean, running_var
        new_rm, new_rv = running_mean.copy(), running_var.copy()
    std = np.sqrt(var + eps)
    x_hat = (x - mu.reshape(shape)) / std.reshape(shape)
    out = gamma.reshape(shape) * x_hat + beta.reshape(shape)
    cache = {"x_hat": x_hat, "std": std, "gamma": gamma, "axes": axes, "shape": shape}
    return out, new_rm, new_rv, cache


def batchnorm_backward(dout, cache):
    x_hat, std, gamma = cache["x_hat"], cache["std"], cache["gamma"]
    axes, shape = cache["axes"], cache["shape"]
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * x_hat).sum(axis=axes)
    dx_hat = dout * gamma.reshape(shape)
    dx = (dx_hat - dx_hat.mean(axis=axes, keepdims=True)
          - x_hat * (dx_hat * x_hat).mean(axis=axes, keepdims=True)) / std.reshape(shape)
    return dx, dgamma, dbeta
