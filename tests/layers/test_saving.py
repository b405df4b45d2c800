"""Models using seqkit layers save to ``.keras`` and load in a fresh process.

One subprocess loads the four models (Elman, LSTM, GRU, Clockwork; each also inside
``keras.layers.Bidirectional``, behind a ``Masking`` layer) with nothing but
``import seqkit``: no ``custom_objects``, nothing from the tests. It reports the
loaded models' predictions, layer classes and layer configs.
"""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import seqkit.layers
from tests.layers.common import FEATURES, TIME, UNITS, random_weights

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Non-default settings, so a config that loses one shows in the outputs.
MODELS = {
    "elman": lambda: (
        seqkit.layers.Elman(UNITS, activation="relu", return_sequences=True, go_backwards=True),
        seqkit.layers.Elman(UNITS, dropout=0.2, seed=3),
    ),
    "lstm": lambda: (
        seqkit.layers.LSTM(UNITS, unit_forget_bias=False, recurrent_activation="hard_sigmoid",
                           return_sequences=True),
        seqkit.layers.LSTM(UNITS, use_bias=False, recurrent_dropout=0.1, seed=4),
    ),
    "gru": lambda: (
        seqkit.layers.GRU(UNITS, reset_after=False, return_sequences=True),
        seqkit.layers.GRU(UNITS, activation="softsign", implementation=1),
    ),
    "clockwork": lambda: (
        seqkit.layers.Clockwork(module_size=2, periods=[3, 1], return_sequences=True),
        seqkit.layers.Clockwork(module_size=3, periods=[1, 2], implementation="masked"),
    ),
}

LOADER = textwrap.dedent(
    """
    import json, os, sys
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import keras
    import numpy as np
    import seqkit  # the only import of the project: it must register the layers

    directory = sys.argv[1]
    x = np.load(os.path.join(directory, "inputs.npy"))
    report = {}
    for kind in sys.argv[2:]:
        model = keras.saving.load_model(os.path.join(directory, kind + ".keras"))
        outputs = np.asarray(model.predict(x, verbose=0))
        np.save(os.path.join(directory, kind + "_loaded.npy"), outputs)
        layers = [l for l in model.layers if type(l).__module__.startswith("seqkit")]
        layers += [l.forward_layer for l in model.layers if hasattr(l, "forward_layer")]
        report[kind] = {
            "classes": sorted(type(l).__module__ + "." + type(l).__name__ for l in layers),
            "registered": sorted(keras.saving.serialize_keras_object(l)["registered_name"]
                                 for l in layers),
            "config": model.get_config(),
        }
    print("REPORT" + json.dumps(report))
    """
)


def build_model(kind):
    middle, inner = MODELS[kind]()
    inputs = keras.Input((TIME, FEATURES))
    masked = keras.layers.Masking(0.0)(inputs)
    hidden = middle(masked)
    outputs = keras.layers.Bidirectional(inner, name=f"bidirectional_{kind}")(hidden)
    model = keras.Model(inputs, keras.layers.Dense(2)(outputs), name=f"model_{kind}")
    model.set_weights(random_weights(model, seed=5))
    return model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    directory = tmp_path_factory.mktemp("saving")
    x = np.random.default_rng(0).normal(size=(3, TIME, FEATURES)).astype("float32")
    x[0, 4:] = 0.0  # padding the Masking layer masks
    x[1, :2] = 0.0
    np.save(directory / "inputs.npy", x)
    expected, configs = {}, {}  # predictions and model configs before saving
    for kind in MODELS:
        model = build_model(kind)
        expected[kind] = np.asarray(model.predict(x, verbose=0))
        configs[kind] = json.loads(json.dumps(model.get_config()))
        model.save(directory / f"{kind}.keras")
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.run(
        [sys.executable, "-c", LOADER, str(directory), *MODELS],
        capture_output=True, text=True, timeout=300, env=env, cwd=str(directory),
    )
    assert process.returncode == 0, process.stderr[-4000:]
    line = [l for l in process.stdout.splitlines() if l.startswith("REPORT")][-1]
    report = json.loads(line[len("REPORT"):])
    return dict(directory=directory, expected=expected, configs=configs, report=report)


@pytest.mark.parametrize("kind", list(MODELS))
def test_loads_in_fresh_process_with_identical_outputs(saved, kind):
    loaded = np.load(saved["directory"] / f"{kind}_loaded.npy")
    np.testing.assert_allclose(loaded, saved["expected"][kind], rtol=0, atol=1e-6)
    # The masked rows matter: the output is not just the Dense bias.
    assert np.ptp(saved["expected"][kind], axis=0).max() > 1e-3


@pytest.mark.parametrize("kind", list(MODELS))
def test_loaded_layers_are_seqkit_layers_with_their_configs(saved, kind):
    report = saved["report"][kind]
    layer_class = type(MODELS[kind]()[0])
    name = f"{layer_class.__module__}.{layer_class.__name__}"
    assert report["classes"] == [name, name]  # the plain one and Bidirectional's forward
    assert report["registered"] == [f"seqkit>{layer_class.__name__}"] * 2
    assert report["config"] == saved["configs"][kind]
