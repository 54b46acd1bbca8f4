"""Keras 3: range test, then ``model.fit`` under a cyclical schedule.

``clr_keras.range_test`` sweeps the rate through ``model.fit`` on a compiled
model (restoring its weights and optimizer afterwards); ``result.recommend``
gives the plan for the budget, whose rate ``clr_keras.CoreSchedule`` evaluates
inside the compiled train step and whose momentum cycle
``clr_keras.CyclicalMomentum`` applies, under ``clr_keras.CollapseGuard`` (the
recommended recipe). Runs on the TensorFlow, JAX and torch backends
(``KERAS_BACKEND``) with scikit-learn's digits.

Run: ``python examples/keras_fit.py`` (about 20 s on the TensorFlow backend).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import clr_keras

if keras.backend.backend() == "torch":  # a small model: one thread is fastest on a shared CPU
    import torch

    torch.set_num_threads(1)

keras.utils.set_random_seed(0)
x, y = load_digits(return_X_y=True)
x_train, x_test, y_train, y_test = train_test_split(
    (x / 16.0).astype("float32"), y, test_size=0.25, random_state=0
)
BATCH, EPOCHS = 64, 12
steps_per_epoch = int(np.ceil(len(x_train) / BATCH))


def make_model():
    return keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)]
    )


loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

# --8<-- [start:fit]
model = make_model()
model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss=loss, metrics=["accuracy"])
result = clr_keras.range_test(model, x_train, y_train, batch_size=BATCH, start_lr=1e-4,
                              end_lr=10.0, metric="accuracy", progress=False)  # fmt: skip
print(result.summary())

# the plan recommended for this budget: its rate, and its momentum cycle (or None)
plan = result.recommend(steps_per_epoch, epochs=EPOCHS)
print(f"plan: {plan.policy}; " + " ".join(plan.reasons))
optimizer = keras.optimizers.SGD(learning_rate=clr_keras.CoreSchedule(plan), momentum=0.95)
model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
# the guard restores the last good epoch and halves the rate if training collapses
guard = clr_keras.CollapseGuard()
callbacks = [guard] if plan.momentum is None else [guard, clr_keras.CyclicalMomentum(plan)]
model.fit(x_train, y_train, batch_size=BATCH, epochs=EPOCHS, callbacks=callbacks, verbose=0)
# --8<-- [end:fit]
print(f"guard fired at epochs: {guard.fired}")
schedule = plan.lr

step = int(keras.ops.convert_to_numpy(optimizer.iterations))
current = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
print(f"backend: {keras.backend.backend()}, steps: {step}")
print(f"lr matches the core schedule: {np.isclose(current, schedule(step), rtol=1e-6)}")
_, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy: {accuracy:.4f}")
