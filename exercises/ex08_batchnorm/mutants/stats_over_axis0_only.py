"""Takes the statistics over axis 0 only, as for (N, C) input: for (N, C, H, W) input
that gives one mean and variance per channel *and pixel*, broadcast against x."""
# expect-hint: over axis 0 only
import numpy as np


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1, eps=1e-5):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if training:
        mu = x.mean(axis=0)            # (C,) for 2-D input, but (C, H, W) for 4-D
        var = x.var(axis=0)
        n = x.shape[0]
        new_rm = (1 - momentum) * running_mean + momentum * mu
        new_rv = (1 - momentum) * running_var + momentum * var * n / (n - 1)
        std = np.sqrt(var + eps)
        x_hat = (x - mu) / std
    else:
        std = np.sqrt(running_var + eps)
        x_hat = (x - running_mean.reshape(shape)) / std.reshape(shape)
        new_rm, new_rv = running_mean.copy(), running_var.copy()
    out = gamma.reshape(shape) * x_hat + beta.reshape(shape)
    cache = (x_hat, std, gamma, shape)
    return out, new_rm, new_rv, cache


def batchnorm_backward(dout, cache):
    x_hat, std, gamma, shape = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma.reshape(shape)
    dx = (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0)) / std
    return dx, dgamma, dbeta
