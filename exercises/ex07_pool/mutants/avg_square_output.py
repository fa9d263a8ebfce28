"""Average pooling takes the output width equal to its height."""
# expect-hint: H_out was used for the width too
import numpy as np


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _param(kernel_size, stride):
    ph, pw = _pair(kernel_size)
    sh, sw = _pair(kernel_size if stride is None else stride)
    return {'pool_height': ph, 'pool_width': pw, 'stride': (sh, sw)}


def max_pool_forward_naive(x, pool_param):
    HH, WW, (sh, sw) = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    N, C, H, W = x.shape
    H_out, W_out = 1 + (H - HH) // sh, 1 + (W - WW) // sw
    out = np.zeros((N, C, H_out, W_out))
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    out[n, c, i, j] = np.max(x[n, c, i * sh:i * sh + HH, j * sw:j * sw + WW])
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    HH, WW, (sh, sw) = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * sh:i * sh + HH, j * sw:j * sw + WW]
                    a, b = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * sh + a, j * sw + b] += dout[n, c, i, j]
    return dx


def max_pool2d_forward(x, kernel_size, stride=None):
    return max_pool_forward_naive(x, _param(kernel_size, stride))


def max_pool2d_backward(dout, cache):
    return max_pool_backward_naive(dout, cache)


def avg_pool2d_forward(x, kernel_size, stride=None):
    p = _param(kernel_size, stride)
    HH, WW, (sh, sw) = p['pool_height'], p['pool_width'], p['stride']
    N, C, H, W = x.shape
    H_out = 1 + (H - HH) // sh
    W_out = H_out
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            out[:, :, i, j] = x[:, :, i * sh:i * sh + HH, j * sw:j * sw + WW].mean(axis=(2, 3))
    return out, (x.shape, p)


def avg_pool2d_backward(dout, cache):
    shape, p = cache
    HH, WW, (sh, sw) = p['pool_height'], p['pool_width'], p['stride']
    dx = np.zeros(shape)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dx[:, :, i * sh:i * sh + HH, j * sw:j * sw + WW] += dout[:, :, i:i + 1, j:j + 1] / (HH * WW)
    return dx
