"""The forecast experiment's model: ``seqkit.forecaster.Forecaster`` built from a
``configs.Config`` (the model and its equations live in ``seqkit/forecaster.py``, so
that ``forecaster.keras`` loads in any process that has run ``import seqkit``).
"""
from __future__ import annotations

from experiments.forecast.configs import resolved_instance_norm
from seqkit.forecaster import INSTANCE_NORMS, Forecaster  # noqa: F401



def build_model(config, num_inputs, target_channels, num_future=0):
    """The ``Forecaster`` of a ``configs.Config`` for windows with ``num_inputs`` channels.

    Example:
        >>> from experiments.forecast import configs
        >>> model = build_model(configs.get_config("test"), 7, [0, 1, 2])   # doctest: +SKIP
    """
    cell_kwargs = {}
    if config.cell == "clockwork" and config.clockwork_periods:
        cell_kwargs["periods"] = list(config.clockwork_periods)
    if config.use_peepholes:  # only then: the plain LSTM's arguments stay Keras's exactly
        cell_kwargs["use_peepholes"] = True
    model = Forecaster(
        input_length=config.input_length, horizon=config.horizon, num_inputs=num_inputs,
        target_channels=target_channels, cell=config.cell, num_layers=config.num_layers,
        hidden_size=config.hidden_size, bidirectional=config.bidirectional,
        dropout=config.dropout, recurrent_dropout=config.recurrent_dropout,
        segment_length=config.segment_length,
        channel_independent=config.channel_independent,
        instance_norm=resolved_instance_norm(config), decoder=config.decoder,
        cell_kwargs=cell_kwargs, seed=config.seed, quantiles=config.quantiles,
        num_future=num_future, name="forecaster")
    # Build now, so that the weights exist before a checkpoint is restored.
    model(model.example_inputs())
    return model
