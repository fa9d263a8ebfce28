"""Holberton's batch_norm(Z, gamma, beta, epsilon): no running statistics at all, and the batch's
statistics in eval mode too; wrapped for the curriculum's signature."""
# mistake: the running statistics came back unchanged in training mode
# mistake: in eval mode (training=False) normalise with running_mean and running_var
import numpy as np


def batch_norm(Z, gamma, beta, epsilon):
    mean = Z.mean(axis=0)
    var = Z.var(axis=0)
    Z_norm = (Z - mean) / np.sqrt(var + epsilon)
    return gamma * Z_norm + beta, (Z_norm, gamma, np.sqrt(var + epsilon))


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1, eps=1e-5):
    if x.ndim == 4:
        N, C, H, W = x.shape
        out, cache = batch_norm(x.transpose(0, 2, 3, 1).reshape(-1, C), gamma, beta, eps)
        out = out.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    else:
        out, cache = batch_norm(x, gamma, beta, eps)
    return out, running_mean, running_var, (x.shape, cache)


def batchnorm_backward(dout, cache):
    shape, (x_hat, gamma, std) = cache
    if len(shape) == 4:
        N, C, H, W = shape
        d = dout.transpose(0, 2, 3, 1).reshape(-1, C)
    else:
        d = dout
    n = d.shape[0]
    dx_hat = d * gamma
    dx = (n * dx_hat - dx_hat.sum(0) - x_hat * (dx_hat * x_hat).sum(0)) / (n * std)
    dgamma, dbeta = (d * x_hat).sum(0), d.sum(0)
    if len(shape) == 4:
        dx = dx.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return dx, dgamma, dbeta
