"""predict returns 1 where the probability is at least 0.5 (>= 0.5): wrong at exactly 0.5."""
# expect-hint: not where it is at least 0.5 (A >= 0.5)

import numpy as np


def _propagate(w, b, X, Y):
    m = X.shape[1]
    Z = w.T @ X + b
    A = 1.0 / (1.0 + np.exp(-Z))
    cost = float(np.mean(Y * np.logaddexp(0.0, -Z) + (1 - Y) * np.logaddexp(0.0, Z)))
    dZ = A - Y
    return {"dw": X @ dZ.T / m, "db": float(np.sum(dZ) / m)}, cost


def optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
    costs = []
    grads = {"dw": np.zeros_like(w), "db": 0.0}
    for i in range(num_iterations):
        grads, cost = _propagate(w, b, X, Y)
        if i % 100 == 0:
            costs.append(cost)
            if print_cost:
                print(f"Cost after iteration {i}: {cost:f}")
        w = w - learning_rate * grads["dw"]
        b = b - learning_rate * grads["db"]
    return {"w": w, "b": float(b)}, grads, costs


def predict(w, b, X):
    A = 1.0 / (1.0 + np.exp(-(w.T @ X + b)))
    return (A >= 0.5).astype(np.float64)


def model(X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5, print_cost=False):
    w, b = np.zeros((X_train.shape[0], 1)), 0.0
    params, grads, costs = optimize(w, b, X_train, Y_train, num_iterations, learning_rate, print_cost)
    w, b = params["w"], params["b"]
    return {
        "costs": costs,
        "Y_prediction_test": predict(w, b, X_test),
        "Y_prediction_train": predict(w, b, X_train),
        "w": w,
        "b": b,
        "learning_rate": learning_rate,
        "num_iterations": num_iterations,
    }
