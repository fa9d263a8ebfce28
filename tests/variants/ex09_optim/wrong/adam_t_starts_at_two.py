"""Adam whose counter starts at 1 and is incremented before its first use (t = 2 first)."""
# mistake: the step count one too high
import numpy as np


def sgd_momentum(w, dw, config):
    mu, lr = config['momentum'], config['learning_rate']
    v = config.get('velocity')
    v = dw.copy() if v is None else mu * v + dw
    step = dw + mu * v if config['nesterov'] else v
    config['velocity'] = v
    return w - lr * step, config


def sgd(w, dw, state, lr=1e-2, momentum=0.0, nesterov=False, weight_decay=0.0):
    g = dw + weight_decay * w
    if momentum == 0:
        return w - lr * g, {}
    config = {'momentum': momentum, 'learning_rate': lr, 'nesterov': nesterov,
              'velocity': state.get('momentum_buffer')}
    next_w, config = sgd_momentum(w, g, config)
    return next_w, {'momentum_buffer': config['velocity']}


def adagrad(w, dw, state, lr=1e-2, eps=1e-10):
    cache = state.get('sum', 0) + dw * dw
    return w - lr * dw / (np.sqrt(cache) + eps), {'sum': cache}


def rmsprop(w, dw, state, lr=1e-2, alpha=0.99, eps=1e-8):
    cache = alpha * state.get('square_avg', 0) + (1 - alpha) * dw ** 2
    return w - lr * dw / (np.sqrt(cache) + eps), {'square_avg': cache}


def adadelta(w, dw, state, lr=1.0, rho=0.9, eps=1e-6):
    sq = rho * state.get('square_avg', 0) + (1 - rho) * dw ** 2
    acc = state.get('acc_delta', 0)
    delta = np.sqrt(acc + eps) / np.sqrt(sq + eps) * dw
    return w - lr * delta, {'square_avg': sq, 'acc_delta': rho * acc + (1 - rho) * delta ** 2}


def adam(w, dw, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    config = {'learning_rate': lr, 'beta1': betas[0], 'beta2': betas[1], 'epsilon': eps,
              'm': state.get('exp_avg', np.zeros_like(w)), 'v': state.get('exp_avg_sq', np.zeros_like(w)),
              't': state.get('step', 0)}
    config['t'] += 2 if config['t'] == 0 else 1
    config['m'] = config['beta1'] * config['m'] + (1 - config['beta1']) * dw
    config['v'] = config['beta2'] * config['v'] + (1 - config['beta2']) * dw ** 2
    mt = config['m'] / (1 - config['beta1'] ** config['t'])
    vt = config['v'] / (1 - config['beta2'] ** config['t'])
    next_w = w - config['learning_rate'] * mt / (np.sqrt(vt) + config['epsilon'])
    return next_w, {'step': config['t'], 'exp_avg': config['m'], 'exp_avg_sq': config['v']}
