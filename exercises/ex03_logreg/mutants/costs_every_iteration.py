"""costs records the cost at every iteration instead of every 100."""
# expect-hint: iterations 0, 100, 200
import numpy as np


def propagate(w, b, X, Y):
    m = X.shape[1]
    A = 1 / (1 + np.exp(-(w.T @ X + b)))
    cost = -np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A))
    return {"dw": X @ (A - Y).T / m, "db": np.sum(A - Y) / m}, cost


def optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
    costs = []
    for i in range(num_iterations):
        grads, cost = propagate(w, b, X, Y)
        costs.append(cost)
        w = w - learning_rate * grads["dw"]
        b = b - learning_rate * grads["db"]
    return {"w": w, "b": b}, grads, costs


def predict(w, b, X):
    return (1 / (1 + np.exp(-(w.T @ X + b))) > 0.5).astype(float)


def model(X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5, print_cost=False):
    w, b = np.zeros((X_train.shape[0], 1)), 0.0
    params, grads, costs = optimize(w, b, X_train, Y_train, num_iterations, learning_rate)
    w, b = params["w"], params["b"]
    return {"costs": costs, "Y_prediction_test": predict(w, b, X_test),
            "Y_prediction_train": predict(w, b, X_train), "w": w, "b": b,
            "learning_rate": learning_rate, "num_iterations": num_iterations}
