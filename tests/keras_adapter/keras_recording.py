"""What the Keras adapter tests read back from a model during fit, in one place."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


def sync(model: keras.Model) -> None:
    """JAX: copy the state ``fit`` keeps aside back into the model's variables."""
    fn = getattr(model, "jax_state_sync", None)
    if fn is not None:
        fn()


class KernelRecorder(keras.callbacks.Callback):
    """Records the first layer's ``kernel[0, 0]`` after every batch (``self.w``)."""

    def __init__(self) -> None:
        super().__init__()
        self.w: list[float] = []

    def on_train_batch_end(self, batch: int, logs: object = None) -> None:
        sync(self.model)
        self.w.append(float(np.asarray(ops.convert_to_numpy(self.model.layers[0].kernel))[0, 0]))
