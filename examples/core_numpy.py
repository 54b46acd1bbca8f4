"""clr_core in a hand-written NumPy training loop: range test, hand-off, training.

No framework: softmax regression on scikit-learn's digits, trained by SGD with
momentum written out in NumPy. The core supplies everything else:

* ``SweepMonitor`` drives the range test (the rate for each step, the stop rule);
* ``monitor.result()`` reads the bounds and hands off to a schedule;
* ``schedule(step)`` and ``schedule.momentum(...)(step)`` set the rate and momentum;
* ``schedule.evaluate(steps, numpy)`` evaluates the whole schedule at once.

Run: ``python examples/core_numpy.py`` (a few seconds).
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import clr_core
from clr_core.rangetest import ExponentialSweep, SweepMonitor

x, y = load_digits(return_X_y=True)
x_train, x_test, y_train, y_test = train_test_split(x / 16.0, y, test_size=0.25, random_state=0)
BATCH, EPOCHS = 64, 12
steps_per_epoch = -(-len(x_train) // BATCH)


def batches(seed):
    """Endless shuffled mini-batches."""
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(len(x_train))
        for i in range(0, len(order), BATCH):
            j = order[i : i + BATCH]
            yield x_train[j], y_train[j]


def loss_and_grad(w, xb, yb):
    logits = xb @ w[:-1] + w[-1]
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(len(yb)), yb] + 1e-12).mean()
    p[np.arange(len(yb)), yb] -= 1.0
    g = np.vstack([xb.T @ p, p.sum(axis=0)]) / len(yb)
    return loss, g


def accuracy(w):
    return float(((x_test @ w[:-1] + w[-1]).argmax(axis=1) == y_test).mean())


# --8<-- [start:range_test]
w = np.zeros((65, 10))
velocity = np.zeros_like(w)
monitor = SweepMonitor(ExponentialSweep(1e-3, 100.0, num_steps=100))
data = batches(seed=0)
for i in range(monitor.num_steps):
    lr = monitor.lr(i)  # the sweep's rate for point i
    loss, g = loss_and_grad(w, *next(data))
    velocity = 0.9 * velocity + g
    w -= lr * velocity
    if monitor.update(lr, loss):  # True: diverged, non-finite, or the sweep is over
        break
result = monitor.result(batch_size=BATCH)
print(result.summary())
print("stopped:", monitor.stop_reason)
# --8<-- [end:range_test]

# --8<-- [start:train]
schedule = result.to_schedule("triangular", iterations_per_epoch=steps_per_epoch, epochs=EPOCHS)
momentum = schedule.momentum(0.85, 0.95)
w = np.zeros((65, 10))
velocity = np.zeros_like(w)
data = batches(seed=1)
total = EPOCHS * steps_per_epoch
for step in range(total):
    loss, g = loss_and_grad(w, *next(data))
    velocity = momentum(step) * velocity + g
    w -= schedule(step) * velocity
# --8<-- [end:train]
print(f"test accuracy: {accuracy(w):.4f}")

# --8<-- [start:vectorised]
steps = np.arange(total, dtype=np.float64)
vectorised = schedule.evaluate(steps, np)  # the same formula, on an array
scalar = np.array([schedule(t) for t in range(total)])
print(f"NumPy equals scalar: {np.allclose(vectorised, scalar, rtol=1e-12, atol=0.0)}")
# --8<-- [end:vectorised]
config = schedule.to_config()
print(f"config round trip: {clr_core.from_config(config) == schedule}")
