"""Keras 3: save a model compiled with a clr_keras schedule to ``.keras`` and load it back.

``import clr_keras`` registers every schedule for Keras serialisation, so
``keras.models.load_model`` needs no ``custom_objects``, provided that
``clr_keras`` is imported first: the script also loads the file in a fresh
process (``examples/keras_load.py``), with the import and without it. The
loaded optimizer holds an equal schedule and the same step count, the loaded
model predicts the same, and training continues on the same cycle.

Run: ``python examples/keras_save_load.py`` (about 15 s on the TensorFlow backend).
"""

import os
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from sklearn.datasets import load_digits

import clr_keras

if keras.backend.backend() == "torch":  # a small model: one thread is fastest on a shared CPU
    import torch

    torch.set_num_threads(1)

keras.utils.set_random_seed(0)
x, y = load_digits(return_X_y=True)
x = (x / 16.0).astype("float32")

# --8<-- [start:save_load]
lr = clr_keras.TriangularCyclicalLearningRate(
    initial_learning_rate=0.01, maximal_learning_rate=0.3, step_size=2 * 29
)
model = keras.Sequential(
    [keras.Input((64,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)]
)
model.compile(
    optimizer=keras.optimizers.SGD(learning_rate=lr, momentum=0.9),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
model.fit(x, y, batch_size=64, epochs=3, verbose=0)

path = os.path.join(tempfile.mkdtemp(), "digits.keras")
model.save(path)
loaded = keras.models.load_model(path)  # no custom_objects needed
# --8<-- [end:save_load]

schedule_config = loaded.optimizer.get_config()["learning_rate"]
print("schedule config:", schedule_config["class_name"], schedule_config["config"])
restored = keras.optimizers.schedules.deserialize(schedule_config)
print(f"schedule restored equal: {restored == lr}")
steps = [int(keras.ops.convert_to_numpy(m.optimizer.iterations)) for m in (model, loaded)]
print(f"optimizer steps restored: {steps[0] == steps[1]} ({steps[1]})")
same = np.array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
print(f"predictions identical: {same}")
loaded.fit(x, y, batch_size=64, epochs=3, verbose=0)  # continues the same cycle
_, accuracy = loaded.evaluate(x, y, verbose=0)
print(f"training accuracy after resuming: {accuracy:.4f}")

# A fresh process: `import clr_keras` before `load_model`, and what happens without it.
loader = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_load.py")
for flags in (["--without-clr-keras"], []):
    fresh = subprocess.run(
        [sys.executable, loader, *flags, path], capture_output=True, text=True, check=True
    )
    print(fresh.stdout.strip())
