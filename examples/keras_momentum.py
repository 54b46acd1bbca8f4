"""Keras 3: 1cycle with its momentum cycle (``OneCycleSchedule`` + ``CyclicalMomentum``).

The rate rises to ``max_lr`` and anneals; ``clr_keras.CyclicalMomentum`` moves
SGD's ``momentum`` the opposite way (0.95 -> 0.85 -> 0.95), the core's value at
the optimizer step of every batch, inside the compiled train step. The script
checks the momentum used at every step against ``clr_core``.

Run: ``python examples/keras_momentum.py`` (about 15 s on the TensorFlow backend).
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
BATCH, EPOCHS = 64, 8
total_steps = EPOCHS * int(np.ceil(len(x_train) / BATCH))

# --8<-- [start:momentum]
lr = clr_keras.OneCycleSchedule(max_lr=0.5, total_steps=total_steps)
momentum = clr_keras.CyclicalMomentum(lr.schedule.momentum(0.85, 0.95))
model = keras.Sequential(
    [keras.Input((64,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)]
)
model.compile(
    optimizer=keras.optimizers.SGD(learning_rate=lr, momentum=0.95),  # momentum > 0
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
model.fit(x_train, y_train, batch_size=BATCH, epochs=EPOCHS, callbacks=[momentum], verbose=0)
# --8<-- [end:momentum]

expected = [lr.schedule.momentum(0.85, 0.95)(t) for t in range(total_steps)]
print(f"steps: {len(momentum.history)} of {total_steps}")
print(f"momentum followed the core schedule: {momentum.history == expected}")
print(f"momentum range: {min(momentum.history):.3f} .. {max(momentum.history):.3f}")
print(f"momentum after fit: {model.optimizer.momentum} (the float it was built with)")
_, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy: {accuracy:.4f}")
