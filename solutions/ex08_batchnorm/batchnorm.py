"""Reference solution for ex08_batchnorm (hidden from students)."""

import numpy as np


def _layout(x):
    """Axes to reduce over and the shape that broadcasts a (C,) vector against x."""
    if x.ndim == 2:
        return (0,), (1, -1)
    if x.ndim == 4:
        return (0, 2, 3), (1, -1, 1, 1)
    raise ValueError(f"batch norm expects (N, C) or (N, C, H, W) input, got shape {x.shape}")


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1, eps=1e-5):
    x = np.asarray(x, dtype=np.float64)
    axes, shape = _layout(x)
    running_mean = np.asarray(running_mean, dtype=np.float64)
    running_var = np.asarray(running_var, dtype=np.float64)
    if training:
        n = x.size // x.shape[1]                       # values per channel: N or N*H*W
        mean = x.mean(axis=axes)
        var = x.var(axis=axes)                         # biased: normalise with this
        new_mean = (1 - momentum) * running_mean + momentum * mean
        new_var = (1 - momentum) * running_var + momentum * var * n / (n - 1)   # unbiased
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean.copy(), running_var.copy()
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean.reshape(shape)) * inv_std.reshape(shape)
    out = gamma.reshape(shape) * x_hat + beta.reshape(shape)
    cache = (x_hat, inv_std, np.asarray(gamma, dtype=np.float64), axes, shape)
    return out, new_mean, new_var, cache


def batchnorm_backward(dout, cache):
    x_hat, inv_std, gamma, axes, shape = cache
    n = dout.size // dout.shape[1]
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * x_hat).sum(axis=axes)
    dx_hat = dout * gamma.reshape(shape)
    dx = (inv_std.reshape(shape) / n) * (
        n * dx_hat
        - dx_hat.sum(axis=axes, keepdims=True)
        - x_hat * (dx_hat * x_hat).sum(axis=axes, keepdims=True)
    )
    return dx, dgamma, dbeta
