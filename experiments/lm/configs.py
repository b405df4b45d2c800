"""Hyper-parameter presets (``--config``), each overridable flag by flag.

``small``, ``medium``, ``large`` and ``test`` are Zaremba, Sutskever & Vinyals
(2014) / TensorFlow's PTB tutorial: SGD with learning rate 1, kept for
``decay_after`` epochs and then multiplied by ``lr_decay`` every epoch,
gradients clipped to global norm ``max_grad_norm``, weights uniform in
±``init_scale``, dropout (1 − keep_prob) on the non-recurrent connections.
``builtin`` is sized for the built-in grammar corpus: it reaches within 10% of
that corpus's floor perplexity in a few minutes on 2 CPU cores.
"""

import dataclasses


@dataclasses.dataclass
class Config:
    cell: str = "lstm"
    num_layers: int = 2
    hidden_size: int = 200
    num_steps: int = 20
    batch_size: int = 20
    epochs: int = 13
    learning_rate: float = 1.0
    lr_decay: float = 0.5
    decay_after: int = 4
    max_grad_norm: float = 5.0
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    tie_embeddings: bool = False
    init_scale: float = 0.1
    eval_batch_size: int = 1
    # Data.
    data_dir: str = ""
    text_file: str = ""
    level: str = "word"
    # Run.
    seed: int = 0
    sample_tokens: int = 30
    prompt: str = ""
    temperature: float = 1.0
    log_every: int = 100
    strategy: str = "default"
    num_cpu_devices: int = 0
    export_dir: str = ""
    progress: bool = True

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        return dataclasses.asdict(self)


CONFIGS = {
    "small": Config(),
    "medium": Config(
        hidden_size=650, num_steps=35, epochs=39, decay_after=6, lr_decay=0.8,
        dropout=0.5, init_scale=0.05,
    ),
    "large": Config(
        hidden_size=1500, num_steps=35, epochs=55, decay_after=14, lr_decay=1 / 1.15,
        dropout=0.65, init_scale=0.04, max_grad_norm=10.0,
    ),
    "test": Config(
        num_layers=1, hidden_size=2, num_steps=2, epochs=1, decay_after=1, max_grad_norm=1.0,
        sample_tokens=5,
    ),
    "builtin": Config(
        hidden_size=128, num_steps=35, batch_size=32, epochs=8, learning_rate=1.0,
        decay_after=4, lr_decay=0.5, max_grad_norm=5.0, init_scale=0.1, eval_batch_size=16,
    ),
}


def get_config(name):
    if name not in CONFIGS:
        raise ValueError(
            f"Received an invalid value for argument `config`, expected one of "
            f"{sorted(CONFIGS)}, got {name!r}."
        )
    return CONFIGS[name].replace()


# Flags whose value, when given, overrides the preset field of the same name.
OVERRIDES = (
    "cell", "num_layers", "hidden_size", "num_steps", "batch_size", "eval_batch_size",
    "epochs", "learning_rate", "lr_decay", "decay_after", "max_grad_norm", "dropout",
    "recurrent_dropout", "tie_embeddings", "init_scale", "sample_tokens",
)
RUN_FIELDS = ("data_dir", "text_file", "level", "seed", "prompt", "temperature",
              "strategy", "num_cpu_devices", "export_dir", "progress")


def resolve_config(values):
    """A ``configs.Config`` from a mapping of flag names to values (None = unset)."""
    builtin = not values.get("data_dir") and not values.get("text_file")
    name = values.get("config") or ("builtin" if builtin else "small")
    config = get_config(name)
    changes = {k: values[k] for k in OVERRIDES if values.get(k) is not None}
    changes.update({k: values[k] for k in RUN_FIELDS if values.get(k) is not None})
    return config.replace(**changes)
