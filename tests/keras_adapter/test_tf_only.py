"""TensorFlow-only features: tf.data input and tf.distribute.MirroredStrategy.

conftest.py keeps this module out of collection on the JAX and torch backends
(and says so in the report header and summary): these are TensorFlow features.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import tensorflow as tf
from keras import ops

import clr_keras

assert keras.backend.backend() == "tensorflow"


def _np(x):
    return np.array(ops.convert_to_numpy(x), copy=True)


def test_tf_data_dataset_input(digits):
    x, y, _, _ = digits
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)]
    )
    model.compile(
        keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.optimizer.build(model.trainable_variables)  # (range_test builds it otherwise)
    before = [_np(v) for v in model.variables + model.optimizer.variables]
    ds = tf.data.Dataset.from_tensor_slices((x[:640], y[:640])).batch(64)  # 10 batches
    result = clr_keras.range_test(
        model,
        ds,
        start_lr=1e-3,
        end_lr=1.0,
        num_steps=25,
        metric="accuracy",
        progress=False,
        min_steps=25,
    )
    assert result.provenance["batch_size"] == 64
    assert len(result.lrs) == 25
    assert len(result.metrics) == 25
    after = [_np(v) for v in model.variables + model.optimizer.variables]
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))


_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
    import keras
    import clr_keras
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x[:1024] / 16.0).astype("float32"); y = y[:1024].astype("int32")

    def build():
        keras.utils.set_random_seed(1)
        m = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(10)])
        m.compile(keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
        return m

    def run(m):
        before = [np.array(v.numpy()) for v in m.variables + m.optimizer.variables]
        r = clr_keras.range_test(m, x, y, batch_size=64, start_lr=1e-3, end_lr=3.0,
                                 num_steps=40, metric="accuracy", progress=False,
                                 fit_kwargs={"shuffle": False})
        after = [np.array(v.numpy()) for v in m.variables + m.optimizer.variables]
        restored = all(np.array_equal(a, b) for a, b in zip(before, after))
        return r, restored

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        dist_model = build()
    r_dist, restored_dist = run(dist_model)
    r_one, restored_one = run(build())
    print("RESULT " + json.dumps({
        "replicas": strategy.num_replicas_in_sync,
        "dist": {"lrs": list(r_dist.lrs), "losses": list(r_dist.losses),
                 "base_lr": r_dist.base_lr, "max_lr": r_dist.max_lr,
                 "batch_size": r_dist.provenance["batch_size"]},
        "one": {"lrs": list(r_one.lrs), "losses": list(r_one.losses),
                "base_lr": r_one.base_lr, "max_lr": r_one.max_lr},
        "restored": [restored_dist, restored_one],
    }))
    """
)


def test_mirrored_strategy_two_logical_cpus():
    """Logical devices must be configured before TensorFlow initialises: a fresh process."""
    env = dict(
        os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="-1"
    )
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, env=env, timeout=600
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert lines, proc.stdout[-3000:]
    out = json.loads(lines[-1][len("RESULT ") :])
    assert out["replicas"] == 2
    assert out["restored"] == [True, True]
    dist, one = out["dist"], out["one"]
    assert dist["batch_size"] == 64
    # one consistent result: the two-replica sweep sees the same global-batch losses
    assert len(dist["losses"]) == len(one["losses"]) >= 10
    np.testing.assert_allclose(dist["lrs"], one["lrs"], rtol=1e-12)
    k = min(len(dist["losses"]), 25)  # before the blow-up, where chaos amplifies rounding
    np.testing.assert_allclose(dist["losses"][:k], one["losses"][:k], rtol=1e-3)
    assert dist["base_lr"] < dist["max_lr"]
    assert abs(np.log(dist["max_lr"] / one["max_lr"])) < np.log(1.5)
