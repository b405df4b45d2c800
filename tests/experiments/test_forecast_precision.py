"""experiments.forecast under --precision=mixed_bfloat16 (bfloat16 compute, float32 loss)."""
import json

import numpy as np

from experiments.forecast import configs, train
from seqkit import runs


def test_mixed_bfloat16_run(tmp_path):
    config = configs.get_config("test").replace(precision="mixed_bfloat16", epochs=1,
                                                progress=False)
    results = runs.run(train.EXPERIMENT, config, str(tmp_path))
    assert np.isfinite(results["train_loss"]) and np.isfinite(results["test_mse"])
    assert json.load(open(tmp_path / "flags.json"))["precision"] == "mixed_bfloat16"


def test_row_losses_are_float32_for_bfloat16_predictions():
    import tensorflow as tf

    prediction = tf.constant(np.full((2, 3, 1), 1.5), tf.bfloat16)
    truth = tf.zeros((2, 3, 1), tf.float32)
    losses = train.row_losses("mse", prediction, truth)
    assert losses.dtype == tf.float32
    np.testing.assert_allclose(losses.numpy(), [2.25, 2.25])
