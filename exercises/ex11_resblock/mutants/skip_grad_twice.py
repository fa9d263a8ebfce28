"""The identity shortcut's gradient is added twice.

Self-contained (its own convolution and batch norm), as a student's file may be.
"""
# expect-hint: counts the skip connection's gradient twice
import numpy as np


def _conv(x, w, stride, pad):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Ho, Wo = (H + 2 * pad - KH) // stride + 1, (W + 2 * pad - KW) // stride + 1
    out = np.zeros((N, F, Ho, Wo))
    for a in range(KH):
        for b in range(KW):
            patch = xp[:, :, a:a + stride * (Ho - 1) + 1:stride, b:b + stride * (Wo - 1) + 1:stride]
            out += np.einsum("nchw,fc->nfhw", patch, w[:, :, a, b])
    return out, (x, w, stride, pad)


def _conv_back(dout, cache):
    x, w, stride, pad = cache
    F, _, KH, KW = w.shape
    Ho, Wo = dout.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for a in range(KH):
        for b in range(KW):
            rows, cols = slice(a, a + stride * (Ho - 1) + 1, stride), slice(b, b + stride * (Wo - 1) + 1, stride)
            dw[:, :, a, b] = np.einsum("nfhw,nchw->fc", dout, xp[:, :, rows, cols])
            dxp[:, :, rows, cols] += np.einsum("nfhw,fc->nchw", dout, w[:, :, a, b])
    return dxp[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]], dw


def _bn(x, gamma, beta, mean, var, training, momentum, eps):
    if training:
        n = x.size // x.shape[1]
        m, v = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
        mean, var = (1 - momentum) * mean + momentum * m, (1 - momentum) * var + momentum * v * n / (n - 1)
    else:
        m, v = mean, var
        mean, var = mean.copy(), var.copy()
    inv = 1 / np.sqrt(v + eps)
    xh = (x - m[None, :, None, None]) * inv[None, :, None, None]
    return gamma[None, :, None, None] * xh + beta[None, :, None, None], mean, var, (xh, inv, gamma)


def _bn_back(dout, cache):
    xh, inv, gamma = cache
    n = dout.size // dout.shape[1]
    dxh = dout * gamma[None, :, None, None]
    dx = inv[None, :, None, None] / n * (n * dxh - dxh.sum(axis=(0, 2, 3), keepdims=True)
                                         - xh * (dxh * xh).sum(axis=(0, 2, 3), keepdims=True))
    return dx, (dout * xh).sum(axis=(0, 2, 3)), dout.sum(axis=(0, 2, 3))


def _unit(x, p, r, k, stride, pad, training, momentum, eps):
    z, cc = _conv(x, p["w" + k], stride, pad)
    out, mean, var, bc = _bn(z, p["gamma" + k], p["beta" + k], r["mean" + k], r["var" + k], training, momentum, eps)
    return out, mean, var, (cc, bc)


def _unit_back(dout, cache):
    cc, bc = cache
    dz, dgamma, dbeta = _bn_back(dout, bc)
    dx, dw = _conv_back(dz, cc)
    return dx, dw, dgamma, dbeta


def resblock_forward(x, params, running, stride=1, training=True, momentum=0.1, eps=1e-5):
    new = {}
    a1, new["mean1"], new["var1"], c1 = _unit(x, params, running, "1", stride, 1, training, momentum, eps)
    h = np.maximum(a1, 0)
    a2, new["mean2"], new["var2"], c2 = _unit(h, params, running, "2", 1, 1, training, momentum, eps)
    cp = None
    if "w_proj" in params:
        s, new["mean_proj"], new["var_proj"], cp = _unit(x, params, running, "_proj", stride, 0, training,
                                                         momentum, eps)
    else:
        s = x
    z = a2 + s
    return np.maximum(z, 0), new, (c1, c2, cp, a1 > 0, z > 0)


def resblock_backward(dout, cache):
    c1, c2, cp, relu1, relu_out = cache
    dz = dout * relu_out
    dh, dw2, dgamma2, dbeta2 = _unit_back(dz, c2)
    dx, dw1, dgamma1, dbeta1 = _unit_back(dh * relu1, c1)
    grads = {"w1": dw1, "gamma1": dgamma1, "beta1": dbeta1, "w2": dw2, "gamma2": dgamma2, "beta2": dbeta2}
    if cp is None:
        dx = dx + 2 * dz
    else:
        dxp, grads["w_proj"], grads["gamma_proj"], grads["beta_proj"] = _unit_back(dz, cp)
        dx = dx + dxp
    grads["x"] = dx
    return grads
