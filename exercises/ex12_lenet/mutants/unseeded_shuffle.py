"""The batches are shuffled with an unseeded generator.

Self-contained (its own layers), as a student's file may be.
"""
# expect-hint: other losses when called again with the same seed
import numpy as np


# -- softmax.py --
def log_softmax(z, axis=-1):
    z = np.asarray(z, dtype=np.float64)
    # Shifting by the maximum changes nothing mathematically, and then np.exp
    # sees only numbers <= 0 (no overflow) and the sum is >= 1 (no log(0)).
    shifted = z - np.max(z, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(z, axis=-1):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def softmax_cross_entropy(logits, labels):
    n = logits.shape[0]
    rows = np.arange(n)
    labels = np.asarray(labels).astype(np.intp)
    logp = log_softmax(logits, axis=1)
    loss = -np.mean(logp[rows, labels])
    dlogits = np.exp(logp)
    dlogits[rows, labels] -= 1.0
    return float(loss), dlogits / n


# -- conv.py (im2col through a strided view) --
def _pair(v):
    if isinstance(v, (tuple, list)):
        return int(v[0]), int(v[1])
    return int(v), int(v)


def conv2d_forward(x, w, b, stride=1, padding=0):
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    F, C, KH, KW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    windows = np.lib.stride_tricks.sliding_window_view(x_pad, (KH, KW), axis=(2, 3))[:, :, ::sh, ::sw]
    out = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2) + b.reshape(1, F, 1, 1)
    return out, (x.shape, w, windows, (sh, sw), (ph, pw))


def conv2d_backward(dout, cache):
    (N, C, H, W), w, windows, (sh, sw), (ph, pw) = cache
    F, _, KH, KW = w.shape
    Ho, Wo = dout.shape[2:]
    dw = np.tensordot(dout, windows, axes=([0, 2, 3], [0, 2, 3]))
    dcols = np.tensordot(dout, w, axes=([1], [0]))            # (N, Ho, Wo, C, KH, KW)
    dx_pad = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for a in range(KH):
        for c in range(KW):
            dx_pad[:, :, a:a + sh * (Ho - 1) + 1:sh, c:c + sw * (Wo - 1) + 1:sw] += dcols[..., a, c].transpose(0, 3, 1, 2)
    return dx_pad[:, :, ph:ph + H, pw:pw + W], dw, dout.sum(axis=(0, 2, 3))


# -- pool.py --
def _pair(v):
    if isinstance(v, (tuple, list)):
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _geometry(x, kernel_size, stride):
    kh, kw = _pair(kernel_size)
    sh, sw = _pair(kernel_size if stride is None else stride)
    _, _, H, W = x.shape
    H_out = (H - kh) // sh + 1
    W_out = (W - kw) // sw + 1
    return kh, kw, sh, sw, H_out, W_out


def _window(a, c, sh, sw, H_out, W_out):
    """Index of the element at offset (a, c) of every window."""
    return (slice(None), slice(None),
            slice(a, a + sh * (H_out - 1) + 1, sh), slice(c, c + sw * (W_out - 1) + 1, sw))


def max_pool2d_forward(x, kernel_size, stride=None):
    kh, kw, sh, sw, H_out, W_out = _geometry(x, kernel_size, stride)
    out = np.full(x.shape[:2] + (H_out, W_out), -np.inf)
    for a in range(kh):
        for c in range(kw):
            out = np.maximum(out, x[_window(a, c, sh, sw, H_out, W_out)])
    return out, (x, (kh, kw), (sh, sw))


def max_pool2d_backward(dout, cache):
    x, (kh, kw), (sh, sw) = cache
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    taken = np.zeros(dout.shape, dtype=bool)  # ties: the first maximum, row-major, as PyTorch
    out = np.full(dout.shape, -np.inf)
    for a in range(kh):
        for c in range(kw):
            out = np.maximum(out, x[_window(a, c, sh, sw, H_out, W_out)])
    for a in range(kh):
        for c in range(kw):
            idx = _window(a, c, sh, sw, H_out, W_out)
            hit = (x[idx] == out) & ~taken
            taken |= hit
            dx[idx] += np.where(hit, dout, 0.0)
    return dx


def avg_pool2d_forward(x, kernel_size, stride=None):
    kh, kw, sh, sw, H_out, W_out = _geometry(x, kernel_size, stride)
    out = np.zeros(x.shape[:2] + (H_out, W_out))
    for a in range(kh):
        for c in range(kw):
            out += x[_window(a, c, sh, sw, H_out, W_out)]
    return out / (kh * kw), (x.shape, (kh, kw), (sh, sw))


def avg_pool2d_backward(dout, cache):
    shape, (kh, kw), (sh, sw) = cache
    N, C, H_out, W_out = dout.shape
    dx = np.zeros(shape)
    share = dout / (kh * kw)
    for a in range(kh):
        for c in range(kw):
            dx[_window(a, c, sh, sw, H_out, W_out)] += share
    return dx


# -- optim.py --
def sgd(w, dw, state, lr=1e-2, momentum=0.0, nesterov=False, weight_decay=0.0):
    state = dict(state)
    g = dw + weight_decay * w if weight_decay != 0 else dw
    if momentum != 0:
        buf = state.get("momentum_buffer")
        buf = np.array(g, dtype=np.float64) if buf is None else momentum * buf + g   # first step: buf = g
        state["momentum_buffer"] = buf
        g = g + momentum * buf if nesterov else buf
    return w - lr * g, state


def adagrad(w, dw, state, lr=1e-2, eps=1e-10):
    state = dict(state)
    s = state.get("sum", np.zeros_like(w)) + dw * dw
    state["sum"] = s
    return w - lr * dw / (np.sqrt(s) + eps), state                                 # eps outside the root


def rmsprop(w, dw, state, lr=1e-2, alpha=0.99, eps=1e-8):
    state = dict(state)
    s = alpha * state.get("square_avg", np.zeros_like(w)) + (1 - alpha) * dw * dw
    state["square_avg"] = s
    return w - lr * dw / (np.sqrt(s) + eps), state


def adadelta(w, dw, state, lr=1.0, rho=0.9, eps=1e-6):
    state = dict(state)
    s = rho * state.get("square_avg", np.zeros_like(w)) + (1 - rho) * dw * dw
    acc = state.get("acc_delta", np.zeros_like(w))
    delta = np.sqrt(acc + eps) / np.sqrt(s + eps) * dw                              # eps inside both roots
    state["square_avg"] = s
    state["acc_delta"] = rho * acc + (1 - rho) * delta * delta
    return w - lr * delta, state


def adam(w, dw, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    state = dict(state)
    t = state.get("step", 0) + 1
    m = beta1 * state.get("exp_avg", np.zeros_like(w)) + (1 - beta1) * dw
    v = beta2 * state.get("exp_avg_sq", np.zeros_like(w)) + (1 - beta2) * dw * dw
    state.update(step=t, exp_avg=m, exp_avg_sq=v)
    bias1, bias2 = 1 - beta1 ** t, 1 - beta2 ** t
    denom = np.sqrt(v) / np.sqrt(bias2) + eps                                       # eps after bias correction
    return w - lr / bias1 * m / denom, state


# -- lenet.py --
KEYS = ("conv1_w", "conv1_b", "conv2_w", "conv2_b", "fc1_w", "fc1_b", "fc2_w", "fc2_b", "fc3_w", "fc3_b")


def lenet_forward(X, params):
    p = params
    c1, conv1 = conv2d_forward(X, p["conv1_w"], p["conv1_b"], 1, 1)
    r1 = np.maximum(c1, 0)
    m1, pool1 = max_pool2d_forward(r1, 2)
    c2, conv2 = conv2d_forward(m1, p["conv2_w"], p["conv2_b"], 1, 1)
    r2 = np.maximum(c2, 0)
    m2, pool2 = max_pool2d_forward(r2, 2)
    f = m2.reshape(m2.shape[0], -1)
    h1 = np.maximum(f @ p["fc1_w"].T + p["fc1_b"], 0)
    h2 = np.maximum(h1 @ p["fc2_w"].T + p["fc2_b"], 0)
    logits = h2 @ p["fc3_w"].T + p["fc3_b"]
    cache = (conv1, c1, pool1, conv2, c2, pool2, m2.shape, f, h1, h2, p)
    return logits, cache


def _linear_backward(d, inp, w):
    return d @ w, d.T @ inp, d.sum(axis=0)


def lenet_loss(X, y, params):
    logits, cache = lenet_forward(X, params)
    loss, dlogits = softmax_cross_entropy(logits, y)
    conv1, c1, pool1, conv2, c2, pool2, m2_shape, f, h1, h2, p = cache
    g = {}
    dh2, g["fc3_w"], g["fc3_b"] = _linear_backward(dlogits, h2, p["fc3_w"])
    dh1, g["fc2_w"], g["fc2_b"] = _linear_backward(dh2 * (h2 > 0), h1, p["fc2_w"])
    df, g["fc1_w"], g["fc1_b"] = _linear_backward(dh1 * (h1 > 0), f, p["fc1_w"])
    dr2 = max_pool2d_backward(df.reshape(m2_shape), pool2)
    dm1, g["conv2_w"], g["conv2_b"] = conv2d_backward(dr2 * (c2 > 0), conv2)
    dr1 = max_pool2d_backward(dm1, pool1)
    _, g["conv1_w"], g["conv1_b"] = conv2d_backward(dr1 * (c1 > 0), conv1)
    return float(loss), g


def train(X, y, params, epochs=2, batch_size=32, lr=1e-3, seed=0):
    params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    states = {k: {} for k in params}
    losses = []
    N = X.shape[0]
    for e in range(epochs):
        order = np.random.permutation(N)
        for start in range(0, N, batch_size):
            idx = order[start:start + batch_size]
            loss, grads = lenet_loss(X[idx], y[idx], params)
            losses.append(loss)
            for k in params:
                params[k], states[k] = adam(params[k], grads[k], states[k], lr=lr)
    return params, losses


def predict(X, params):
    logits, _ = lenet_forward(X, params)
    return logits.argmax(axis=1)
