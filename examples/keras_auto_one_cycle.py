"""Keras 3: a 1cycle that finds its own peak during ``model.fit`` (no range test).

``clr_keras.AutoOneCycleCallback`` ramps the rate up from ``start_lr``, feeds each
step's own loss to the core's stop rule, fixes the peak below the edge it reads
and anneals over the rest of the budget, with momentum moving the opposite way.
The run is split in two, as a resumed job would be: after 6 epochs the model is
saved with the callback's state (plain JSON), and a new callback loaded from that
state continues the identical schedule. The script checks every rate against
``clr_core.rangetest.AutoOneCycle`` fed the same losses.

Run: ``python examples/keras_auto_one_cycle.py`` (about 20 s on the TensorFlow backend).
"""

import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import clr_keras
from clr_core.rangetest import AutoOneCycle

if keras.backend.backend() == "torch":  # a small model: one thread is fastest on a shared CPU
    import torch

    torch.set_num_threads(1)

keras.utils.set_random_seed(0)
x, y = load_digits(return_X_y=True)
x_train, x_test, y_train, y_test = train_test_split(
    (x / 16.0).astype("float32"), y, test_size=0.25, random_state=0
)
BATCH, EPOCHS = 64, 12
total_steps = EPOCHS * int(np.ceil(len(x_train) / BATCH))

# --8<-- [start:auto]
auto = clr_keras.AutoOneCycleCallback(total_steps, start_lr=1e-3, end_lr=3.0)
model = keras.Sequential(
    [keras.Input((64,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)]
)
model.compile(
    optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.95),  # a float rate
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
model.fit(x_train, y_train, batch_size=BATCH, epochs=6, callbacks=[auto], verbose=0)
print(f"peak {auto.auto.peak:.3g} read at step {auto.auto.decided_at}")

# a checkpoint: the model, and the callback's state beside it
model.save("auto.keras")
Path("auto.json").write_text(json.dumps(auto.state_dict()))
# --8<-- [end:auto]
first_lrs, first_losses = list(auto.lrs), list(auto.losses)

# --8<-- [start:resume]
model = keras.models.load_model("auto.keras")
auto = clr_keras.AutoOneCycleCallback(total_steps)  # the state brings its settings
auto.load_state_dict(json.loads(Path("auto.json").read_text()))
model.fit(x_train, y_train, batch_size=BATCH, epochs=EPOCHS, initial_epoch=6,
          callbacks=[auto], verbose=0)  # fmt: skip
# --8<-- [end:resume]

core = AutoOneCycle(total_steps, start_lr=1e-3, end_lr=3.0)  # fed the same losses
expected = []
for t in range(total_steps):
    expected.append(core.lr(t))
    if t < len(first_losses):
        core.update(t, first_losses[t])
steps = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
print(f"backend: {keras.backend.backend()}, steps: {steps} of {total_steps}")
print(f"decided on the warm-up: {auto.auto.decided_at < 0.3 * total_steps}")
print(f"rates followed the core object: {first_lrs + auto.lrs == expected}")
print(f"momentum after fit: {model.optimizer.momentum} (the float it was built with)")
_, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy: {accuracy:.4f}")
