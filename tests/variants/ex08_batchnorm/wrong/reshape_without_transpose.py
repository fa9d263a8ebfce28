"""Spatial batch norm by x.reshape(-1, C) without moving the channels last."""
# mistake: mixes the channels
import numpy as np


def _bn2d(x, gamma, beta, rm, rv, training, momentum, eps):
    if training:
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        n = x.shape[0]
        std = np.sqrt(var + eps)
        x_hat = (x - mu) / std
        rm = (1 - momentum) * rm + momentum * mu
        rv = (1 - momentum) * rv + momentum * var * n / (n - 1)
        return gamma * x_hat + beta, rm, rv, (x_hat, gamma, std)
    x_hat = (x - rm) / np.sqrt(rv + eps)
    return gamma * x_hat + beta, rm.copy(), rv.copy(), None


def _bn2d_backward(dout, cache):
    x_hat, gamma, std = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    dx = (N * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0)) / (N * std)
    return dx, dgamma, dbeta


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1, eps=1e-5):
    if x.ndim == 2:
        out, rm, rv, cache = _bn2d(x, gamma, beta, running_mean, running_var, training, momentum, eps)
        return out, rm, rv, (None, cache)
    N, C, H, W = x.shape
    flat = x.reshape(-1, C)
    out, rm, rv, cache = _bn2d(flat, gamma, beta, running_mean, running_var, training, momentum, eps)
    return out.reshape(N, C, H, W), rm, rv, (x.shape, cache)


def batchnorm_backward(dout, cache):
    shape, inner = cache
    if shape is None:
        return _bn2d_backward(dout, inner)
    N, C, H, W = shape
    dx, dgamma, dbeta = _bn2d_backward(dout.reshape(-1, C), inner)
    return dx.reshape(N, C, H, W), dgamma, dbeta
