"""Keras 3: load a ``.keras`` file that holds a clr_keras schedule, in a fresh process.

Keras rebuilds a registered class only when the module that registers it has
been imported: ``import clr_keras`` must come before ``keras.models.load_model``
in every process that loads the file (a serving job, a resumed run, a
notebook after a restart). Without it, Keras raises ``TypeError: Could not
locate class 'TriangularCyclicalLearningRate'``; ``examples/keras_save_load.py``
runs this script in a new process to show both cases.

Run: ``python examples/keras_load.py MODEL.keras`` (``--without-clr-keras`` to
see the error).
"""

import os
import re
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

path = sys.argv[-1]
if "--without-clr-keras" in sys.argv:
    import keras

    try:
        keras.models.load_model(path)
    except TypeError as error:  # "... Could not locate class 'TriangularCyclicalLearningRate' ..."
        cause = re.search(r"Could not locate class '\w+'", str(error))
        print(f"without import clr_keras: {type(error).__name__}: {cause and cause.group(0)}")
    sys.exit(0)

# --8<-- [start:load]
import keras

import clr_keras  # noqa: F401  (registers clr_keras's schedules: before load_model)

model = keras.models.load_model(path)
# --8<-- [end:load]

lr = model.optimizer._learning_rate
steps = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
print(f"loaded in a fresh process: {type(lr).__name__} at step {steps}")
