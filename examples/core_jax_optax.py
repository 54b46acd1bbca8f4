"""clr_core schedules in JAX with optax, inside a jitted train step.

optax calls a schedule with its step count, an int32 JAX array. A clr_core
schedule called with an array evaluates its one formula in that array's own
namespace (``jax.numpy`` here), so the schedule itself is an optax schedule:
pass it as ``learning_rate``. ``optax.inject_hyperparams`` cycles the momentum
as well. Trains an MLP on scikit-learn's digits under ``jax.jit`` (compiled
once) and checks the rate and momentum optax used at every step against the
core's Python values.

Run: ``python examples/core_jax_optax.py`` (about 10 s on CPU).
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import clr_core

x, y = load_digits(return_X_y=True)
x_train, x_test, y_train, y_test = train_test_split(
    (x / 16.0).astype("float32"), y, test_size=0.25, random_state=0
)
BATCH, EPOCHS = 64, 12
steps_per_epoch = len(x_train) // BATCH  # full batches only: one jitted shape

# --8<-- [start:optax]
schedule = clr_core.OneCycle(max_lr=0.5, total_steps=EPOCHS * steps_per_epoch)
momentum = schedule.momentum(0.85, 0.95)

optimizer = optax.inject_hyperparams(optax.sgd)(learning_rate=schedule, momentum=momentum)
# (without the momentum: optax.sgd(learning_rate=schedule, momentum=0.9))
# --8<-- [end:optax]


def init(key):
    k1, k2 = jax.random.split(key)
    return {
        "w1": jax.random.normal(k1, (64, 64)) * 0.125,
        "b1": jnp.zeros(64),
        "w2": jax.random.normal(k2, (64, 10)) * 0.125,
        "b2": jnp.zeros(10),
    }


def logits(params, xb):
    h = jax.nn.relu(xb @ params["w1"] + params["b1"])
    return h @ params["w2"] + params["b2"]


def loss_fn(params, xb, yb):
    return optax.softmax_cross_entropy_with_integer_labels(logits(params, xb), yb).mean()


traces = []


@jax.jit
def train_step(params, state, xb, yb):
    traces.append(1)  # runs only while JAX traces the step
    grads = jax.grad(loss_fn)(params, xb, yb)
    updates, state = optimizer.update(grads, state, params)
    return optax.apply_updates(params, updates), state


params = init(jax.random.PRNGKey(0))
state = optimizer.init(params)
rng = np.random.default_rng(0)
used_lr, used_momentum = [], []
for _epoch in range(EPOCHS):
    order = rng.permutation(len(x_train))
    for i in range(steps_per_epoch):
        j = order[i * BATCH : (i + 1) * BATCH]
        params, state = train_step(params, state, x_train[j], y_train[j])
        used_lr.append(float(state.hyperparams["learning_rate"]))
        used_momentum.append(float(state.hyperparams["momentum"]))

n = len(used_lr)
core_lr = np.array([schedule(t) for t in range(n)])
core_momentum = np.array([momentum(t) for t in range(n)])
print(f"steps: {n}")
print(f"train step traced once: {len(traces) == 1}")
print(f"optax rates match clr_core (float32): {np.allclose(used_lr, core_lr, rtol=1e-5)}")
print(f"optax momenta match clr_core (float32): "
      f"{np.allclose(used_momentum, core_momentum, rtol=1e-5)}")  # fmt: skip
accuracy = float((logits(params, x_test).argmax(-1) == y_test).mean())
print(f"test accuracy: {accuracy:.4f}")
