"""Reuses the (N, C) code for (N, C, H, W) input through x.reshape(-1, C), without
moving the channel axis last first: the "channels" it normalises are mixed up."""
# expect-hint: mixes the channels
import numpy as np


def _bn2d(x, gamma, beta, running_mean, running_var, training, momentum, eps):
    if training:
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        n = x.shape[0]
        new_rm = (1 - momentum) * running_mean + momentum * mu
        new_rv = (1 - momentum) * running_var + momentum * var * n / (n - 1)
    else:
        mu, var = running_mean, running_var
        new_rm, new_rv = running_mean.copy(), running_var.copy()
    std = np.sqrt(var + eps)
    x_hat = (x - mu) / std
    return gamma * x_hat + beta, new_rm, new_rv, (x_hat, std, gamma)


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1, eps=1e-5):
    if x.ndim == 4:
        out, new_rm, new_rv, cache = _bn2d(x.reshape(-1, x.shape[1]), gamma, beta, running_mean,
                                           running_var, training, momentum, eps)
        return out.reshape(x.shape), new_rm, new_rv, (cache, x.shape)
    out, new_rm, new_rv, cache = _bn2d(x, gamma, beta, running_mean, running_var, training, momentum, eps)
    return out, new_rm, new_rv, (cache, x.shape)


def batchnorm_backward(dout, cache):
    (x_hat, std, gamma), shape = cache
    d = dout.reshape(-1, shape[1])
    dbeta = d.sum(axis=0)
    dgamma = (d * x_hat).sum(axis=0)
    dx_hat = d * gamma
    dx = (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0)) / std
    return dx.reshape(shape), dgamma, dbeta
