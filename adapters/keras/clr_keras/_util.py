"""Small helpers shared by the adapter's modules (no schedule math here)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

__all__ = ["to_numpy", "unwrap_optimizer", "train_step_counter"]


def to_numpy(value: Any) -> np.ndarray:
    """A NumPy copy of a Keras variable or backend tensor, without NumPy warnings.

    ``keras.ops.convert_to_numpy`` calls ``numpy.array`` on objects whose
    ``__array__`` lacks NumPy 2's ``copy`` keyword (a Keras variable on JAX, a
    TensorFlow variable or tensor), which NumPy answers with a
    ``DeprecationWarning``. A variable is read through ``.value`` first, and
    TensorFlow and torch values through their own ``.numpy()``.
    """
    if isinstance(value, keras.Variable):
        value = value.value
    backend = keras.backend.backend()
    if backend == "tensorflow" and hasattr(value, "numpy"):
        return np.array(value.numpy(), copy=True)
    if backend == "torch" and hasattr(value, "detach"):
        tensor = value.detach().cpu()
        if str(tensor.dtype) == "torch.bfloat16":  # NumPy has no bfloat16
            tensor = tensor.float()
        return np.array(tensor.numpy(), copy=True)
    return np.array(ops.convert_to_numpy(value), copy=True)


def unwrap_optimizer(optimizer: Any) -> Any:
    """The optimizer holding the hyper-parameters (a ``LossScaleOptimizer``'s inner one)."""
    inner = getattr(optimizer, "inner_optimizer", None)
    return optimizer if inner is None else inner


def train_step_counter(optimizer: Any) -> Any:
    """The step variable the optimizer evaluates its learning-rate schedule at.

    Keras calls a ``LearningRateSchedule`` with ``optimizer._iterations`` (one
    per ``apply``, also with gradient accumulation); a momentum schedule is read
    at the same count so both stay in step.
    """
    counter = getattr(optimizer, "_iterations", None)
    return optimizer.iterations if counter is None else counter
