"""Reference solution for ex11_resblock (hidden from students).

Built from the student's own layers, as the exercise invites: conv2d_* from
ex06's conv.py and batchnorm_* from ex08's batchnorm.py (the grader copies
those beside this file). A convolution without bias is one with b = 0.
"""

import numpy as np

from batchnorm import batchnorm_backward, batchnorm_forward
from conv import conv2d_backward, conv2d_forward


def _conv_bn(x, w, gamma, beta, mean, var, stride, padding, training, momentum, eps):
    z, conv_cache = conv2d_forward(x, w, np.zeros(w.shape[0]), stride, padding)
    out, mean, var, bn_cache = batchnorm_forward(z, gamma, beta, mean, var, training, momentum, eps)
    return out, mean, var, (conv_cache, bn_cache)


def _conv_bn_backward(dout, cache):
    conv_cache, bn_cache = cache
    dz, dgamma, dbeta = batchnorm_backward(dout, bn_cache)
    dx, dw, _ = conv2d_backward(dz, conv_cache)
    return dx, dw, dgamma, dbeta


def resblock_forward(x, params, running, stride=1, training=True, momentum=0.1, eps=1e-5):
    new_running = {}
    a1, new_running["mean1"], new_running["var1"], c1 = _conv_bn(
        x, params["w1"], params["gamma1"], params["beta1"], running["mean1"], running["var1"],
        stride, 1, training, momentum, eps)
    h = np.maximum(a1, 0)
    a2, new_running["mean2"], new_running["var2"], c2 = _conv_bn(
        h, params["w2"], params["gamma2"], params["beta2"], running["mean2"], running["var2"],
        1, 1, training, momentum, eps)
    projection = "w_proj" in params
    if projection:
        s, new_running["mean_proj"], new_running["var_proj"], cp = _conv_bn(
            x, params["w_proj"], params["gamma_proj"], params["beta_proj"], running["mean_proj"],
            running["var_proj"], stride, 0, training, momentum, eps)
    else:
        s, cp = x, None
    z = a2 + s
    out = np.maximum(z, 0)
    return out, new_running, (c1, c2, cp, a1 > 0, z > 0)


def resblock_backward(dout, cache):
    c1, c2, cp, relu1, relu_out = cache
    dz = dout * relu_out
    dh, dw2, dgamma2, dbeta2 = _conv_bn_backward(dz, c2)
    dx, dw1, dgamma1, dbeta1 = _conv_bn_backward(dh * relu1, c1)
    grads = {"w1": dw1, "gamma1": dgamma1, "beta1": dbeta1, "w2": dw2, "gamma2": dgamma2, "beta2": dbeta2}
    if cp is None:
        dx = dx + dz
    else:
        dxp, grads["w_proj"], grads["gamma_proj"], grads["beta_proj"] = _conv_bn_backward(dz, cp)
        dx = dx + dxp
    grads["x"] = dx
    return grads
