"""kernel_size[0] is used for both the height and the width of the window."""
# expect-hint: the kernel's height KH was used for its width too
import numpy as np


def _params(kernel_size, stride):
    kh = kw = kernel_size[0] if isinstance(kernel_size, tuple) else kernel_size
    if stride is None:
        stride = (kh, kw)
    sh, sw = stride if isinstance(stride, tuple) else (stride, stride)
    return kh, kw, sh, sw


def max_pool2d_forward(x, kernel_size, stride=None):
    kh, kw, sh, sw = _params(kernel_size, stride)
    N, C, H, W = x.shape
    H_out, W_out = (H - kh) // sh + 1, (W - kw) // sw + 1
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            out[:, :, i, j] = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].max(axis=(2, 3))
    return out, (x, (kh, kw), (sh, sw))


def max_pool2d_backward(dout, cache):
    x, (kh, kw), (sh, sw) = cache
    _, _, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            mask = window == window.max(axis=(2, 3), keepdims=True)
            dx[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += mask * dout[:, :, i, j][:, :, None, None]
    return dx


def avg_pool2d_forward(x, kernel_size, stride=None):
    kh, kw, sh, sw = _params(kernel_size, stride)
    N, C, H, W = x.shape
    H_out, W_out = (H - kh) // sh + 1, (W - kw) // sw + 1
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            out[:, :, i, j] = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].mean(axis=(2, 3))
    return out, (x.shape, (kh, kw), (sh, sw))


def avg_pool2d_backward(dout, cache):
    shape, (kh, kw), (sh, sw) = cache
    _, _, H_out, W_out = dout.shape
    dx = np.zeros(shape)
    for i in range(H_out):
        for j in range(W_out):
            dx[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += dout[:, :, i, j][:, :, None, None] / (kh * kw)
    return dx
