"""Spatial batch norm whose backward pass divides by N where the statistics average N*H*W values."""
# expect-hint: dx divides the sums over each channel by N
import numpy as np


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1, eps=1e-5):
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if not training:
        x_hat = (x - running_mean.reshape(shape)) / np.sqrt(running_var.reshape(shape) + eps)
        return gamma.reshape(shape) * x_hat + beta.reshape(shape), running_mean, running_var, None
    mu = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    n = x.size // x.shape[1]
    std = np.sqrt(var + eps)
    x_hat = (x - mu) / std
    new_rm = (1 - momentum) * running_mean + momentum * mu.ravel()
    new_rv = (1 - momentum) * running_var + momentum * var.ravel() * n / (n - 1)
    return gamma.reshape(shape) * x_hat + beta.reshape(shape), new_rm, new_rv, (x_hat, std, gamma, axes, shape)


def batchnorm_backward(dout, cache):
    x_hat, std, gamma, axes, shape = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * x_hat).sum(axis=axes)
    dx_hat = dout * gamma.reshape(shape)
    dx = (N * dx_hat - dx_hat.sum(axis=axes, keepdims=True)
          - x_hat * (dx_hat * x_hat).sum(axis=axes, keepdims=True)) / (N * std)
    return dx, dgamma, dbeta
