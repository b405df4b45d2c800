"""Recurrent forecaster: a seqkit encoder with a direct, parallel or autoregressive decoder.

``Forecaster`` maps a standardized input window ``x`` of shape ``[batch, L, C]``
(``L`` = input_length, ``C`` input channels) to a forecast ``[batch, H, T]``
(``H`` = horizon, ``T`` target channels, ``target_channels`` = their positions
among the ``C`` inputs; the other ``F = C - T`` channels are input-only
features such as calendar covariates).

Write ``y`` for the target channels of ``x`` and ``z`` for the features::

    instance norm      mu = y[L-1] ("last") or mean_t y[t] ("mean"), per window
                       and channel; y <- y - mu           (RevIN-like; "none": mu = 0)
    series             mixed:     one series per window, step values [y_t, z_t]
                       channel-independent: one series per (window, target c),
                                  step values [y_t,c, z_t, onehot(c)]
    segments (P = segment_length > 0)
                       u_j = relu(E [values of steps jP .. jP+P-1])   j < L/P
                       (P = 0: u_t = the step's values, one RNN step per time step)
    encoder            h = RNN(u_1 .. u_n)  (any seqkit cell, stacked or
                       bidirectional; seqkit.builders)
    decoder  direct:   yhat = W_out D(h_n)                       all H steps at once
             parallel: for every output segment k < m = ceil(H / P'), in parallel:
                       g_k = RNN step from the encoder's final state on input
                             pos_k (+ chan_c);   yhat_k = W_seg D(g_k)
                       (SegRNN's PMF decoder; P' = P, or 1 without segments)
             autoregressive:
                       yhat_1 = W_seg D(h_n); then g_k = RNN step on the
                       embedded yhat_{k-1}, yhat_k = W_seg D(g_k)   (SegRNN's RMF)
    output             yhat + mu
    quantiles (q_1 < .. < q_Q, with 0.5)
                       every output layer is Q times wider: yhat [B, H, T, Q],
                       mu added to every level, the levels sorted (never cross)

Known future inputs (``num_future = k > 0``; calendar features, planned
values): the model is called on ``(x, f)`` with ``f [batch, H, k]``
standardized, the values at the forecast steps (per series ``f`` is shared by
the target channels). Write ``f_k`` for the rows of output piece ``k``
flattened (``[P' k]``, zero-padded past the horizon) and ``V`` for the
``future_projection`` (a Dense without bias)::

    direct:          yhat = W_out D(h_n + V vec(f))
    parallel:        input of segment k = [pos_k, f_k] mapped to width E by
                     [I; V]: pos_k + V f_k  (+ chan_c)
    autoregressive:  yhat_1 = W_seg D(h_n + V f_1); the fed-back piece k-1 is
                     embedded together with f_k: embed([yhat_{k-1}, f_k])

Without future inputs (``num_future = 0``) the model takes ``x`` alone and is
exactly the one above.

``D`` is dropout. With ``quantiles`` the model is trained on the pinball loss
(``seqkit.metrics.pinball_loss``); sorting the Q outputs is the monotone
rearrangement of Chernozhukov et al. (2010), which never increases it (pinball
is submodular in (q, yhat)), and the autoregressive decoder feeds back the
median. The parallel and autoregressive decoders run the encoder's
own recurrent network one more step (weights shared, as in SegRNN), so they
need a unidirectional encoder. Why these pieces: Lin et al. (2023, SegRNN) show
that segment inputs (few, information-rich recurrent steps), last-value
normalization and a parallel decoder (no error accumulation) turn a GRU into a
competitive long-horizon forecaster.

Example:
    >>> import numpy as np
    >>> model = Forecaster(input_length=48, horizon=24, num_inputs=3,
    ...                    target_channels=[0, 1], hidden_size=16,
    ...                    segment_length=12, decoder="parallel")
    >>> tuple(model(np.zeros((4, 48, 3), "float32")).shape)
    (4, 24, 2)
"""
from __future__ import annotations

import math

import keras
from keras import ops

from seqkit import builders

CELLS = ("elman", "lstm", "gru", "clockwork")
DECODERS = ("direct", "parallel", "autoregressive")
INSTANCE_NORMS = ("none", "last", "mean")


def _error(argument, expected, received):
    return ValueError(f"{argument}: expected {expected}, got {received!r}")


@keras.saving.register_keras_serializable(package="seqkit.forecast")
class Forecaster(keras.Model):
    """See the module docstring for the equations.

    Args:
        input_length: L, steps of the input window.
        horizon: H, steps forecast.
        num_inputs: C, channels of the input window.
        target_channels: positions of the T forecast channels among the C
            inputs (``Windows.target_channels``); default: all of them.
        cell: "elman", "lstm", "gru" or "clockwork" (default "gru").
        num_layers: recurrent layers (default 1).
        hidden_size: units per layer and width of the segment embedding.
        bidirectional: bidirectional encoder (direct decoder only).
        dropout: dropout between recurrent layers and before the output layer.
        recurrent_dropout: variational dropout on h_{t-1} inside each layer.
        segment_length: P; 0 = one recurrent step per time step. P must divide L.
        channel_independent: one series per target channel (shared weights,
            channel identity as a one-hot input), instead of one mixed series.
        instance_norm: "none", "last" or "mean" (see the module docstring).
        decoder: "direct", "parallel" or "autoregressive".
        cell_kwargs: extra arguments of every recurrent layer (e.g. Clockwork
            ``{"periods": [1, 2, 4, 8]}``).
        seed: seeds the dropout masks.
        quantiles: levels of a probabilistic forecast (increasing, in (0, 1),
            with 0.5); the output is then ``[batch, H, T, Q]``. Default (): a
            point forecast ``[batch, H, T]``.
        num_future: k, columns known in advance at the forecast steps; when
            > 0 the model is called on ``(window, future)`` (or a dict with
            those keys), ``future [batch, H, k]`` standardized.
    """

    def __init__(self, input_length, horizon, num_inputs, target_channels=None, cell="gru",
                 num_layers=1, hidden_size=64, bidirectional=False, dropout=0.0,
                 recurrent_dropout=0.0, segment_length=24, channel_independent=False,
                 instance_norm="none", decoder="direct", cell_kwargs=None, seed=None,
                 quantiles=(), num_future=0, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("input_length", input_length), ("horizon", horizon),
                            ("num_inputs", num_inputs), ("num_layers", num_layers),
                            ("hidden_size", hidden_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise _error(name, "a positive integer", value)
        if isinstance(num_future, bool) or not isinstance(num_future, int) or num_future < 0:
            raise _error("num_future", "an integer >= 0", num_future)
        if cell not in CELLS:
            raise _error("cell", f"one of {CELLS}", cell)
        if decoder not in DECODERS:
            raise _error("decoder", f"one of {DECODERS}", decoder)
        if instance_norm not in INSTANCE_NORMS:
            raise _error("instance_norm", f"one of {INSTANCE_NORMS}", instance_norm)
        if isinstance(segment_length, bool) or not isinstance(segment_length, int) \
                or segment_length < 0:
            raise _error("segment_length", "an integer >= 0", segment_length)
        if segment_length and input_length % segment_length:
            raise _error("segment_length", f"a divisor of input_length={input_length} "
                         f"(or 0 for no segments)", segment_length)
        if bidirectional and decoder != "direct":
            raise ValueError(
                f"decoder: the {decoder!r} decoder runs the encoder's recurrent network "
                f"further, which a bidirectional encoder cannot do; expected "
                f"decoder='direct' with bidirectional=True, got decoder={decoder!r}")
        target_channels = (list(range(num_inputs)) if target_channels is None
                           else [int(c) for c in target_channels])
        if not target_channels or len(set(target_channels)) != len(target_channels) \
                or any(not 0 <= c < num_inputs for c in target_channels):
            raise _error("target_channels", f"distinct positions in [0, {num_inputs})",
                         target_channels)

        self.input_length, self.horizon, self.num_inputs = input_length, horizon, num_inputs
        self.target_channels = target_channels
        self.feature_channels = [c for c in range(num_inputs) if c not in target_channels]
        self.cell_kind, self.num_layers, self.hidden_size = cell, num_layers, hidden_size
        self.bidirectional, self.dropout_rate = bool(bidirectional), float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.segment_length = segment_length
        self.channel_independent = bool(channel_independent)
        self.instance_norm, self.decoder = instance_norm, decoder
        self.cell_kwargs = dict(cell_kwargs or {})
        self.seed = seed
        self.num_future = num_future
        if quantiles:
            from seqkit import metrics

            quantiles = metrics.check_quantiles(quantiles)
        self.quantiles = tuple(quantiles or ())
        # Outputs per forecast value: one per quantile level, or the point forecast.
        self.num_levels = len(self.quantiles) or 1

        num_targets, num_features = len(target_channels), len(self.feature_channels)
        # Values of one series at one time step, and what the decoder outputs
        # per time step, for one series.
        if self.channel_independent:
            self.step_width = 1 + num_features + num_targets      # + one-hot channel id
            self.out_width = 1
        else:
            self.step_width = num_targets + num_features
            self.out_width = num_targets
        # Time steps per decoder step: a segment, or one step without segments.
        self.piece = segment_length or 1
        self.num_pieces = math.ceil(horizon / self.piece)
        self.num_segments = input_length // self.piece
        rnn_input_width = hidden_size if segment_length else self.step_width

        def seed_for(offset):
            return None if seed is None else seed + offset

        if segment_length:
            self.embedding = keras.layers.Dense(hidden_size, activation="relu",
                                                name="segment_embedding")
        common = dict(dropout=dropout, recurrent_dropout=recurrent_dropout,
                      cell_kwargs=self.cell_kwargs or None, seed=seed_for(0))
        if not bidirectional:
            # return_state: the decoders continue from the final states.
            self.encoder = builders.StackedRNN(cell, hidden_size, num_layers=num_layers,
                                               return_state=True, name="encoder", **common)
        elif num_layers == 1:
            self.encoder = builders.BidirectionalRNN(
                cell, hidden_size, recurrent_dropout=recurrent_dropout,
                cell_kwargs=self.cell_kwargs or None, seed=seed_for(0), name="encoder")
        else:
            self.encoder = builders.DeepBidirectionalRNN(cell, hidden_size,
                                                         num_layers=num_layers,
                                                         name="encoder", **common)
        self.head_dropout = keras.layers.Dropout(dropout, seed=seed_for(1000),
                                                 name="head_dropout")
        if decoder == "direct":
            self.head = keras.layers.Dense(horizon * self.out_width * self.num_levels,
                                           name="direct_head")
        else:
            self.head = keras.layers.Dense(self.piece * self.out_width * self.num_levels,
                                           name="segment_head")
        if decoder == "parallel":
            self.position_embedding = self.add_weight(
                shape=(self.num_pieces, rnn_input_width), name="position_embedding",
                initializer=keras.initializers.RandomNormal(stddev=1.0, seed=seed_for(2000)))
            if self.channel_independent:
                self.channel_embedding = self.add_weight(
                    shape=(num_targets, rnn_input_width), name="channel_embedding",
                    initializer=keras.initializers.RandomNormal(stddev=1.0, seed=seed_for(3000)))
        if num_future:
            # Where the future steps' values join: the head's input (direct, the
            # encoder's output width), a decoder RNN input (parallel), or the
            # first piece's head input (autoregressive).
            width = {"direct": hidden_size * (2 if bidirectional else 1),
                     "parallel": rnn_input_width, "autoregressive": hidden_size}[decoder]
            self.future_projection = keras.layers.Dense(width, use_bias=False,
                                                        name="future_projection")
        if decoder == "autoregressive" and (num_features or not segment_length or num_future):
            # The features of future steps are unknown, so the forecast piece fed
            # back has another width than an encoder step: it gets its own embedding
            # (without features, SegRNN's RMF reuses the encoder's embedding).
            self.feedback_embedding = keras.layers.Dense(
                rnn_input_width, activation="relu" if segment_length else None,
                name="feedback_embedding")
        else:
            self.feedback_embedding = None

    # -- pieces of the forward pass -------------------------------------------
    def _series(self, targets, features):
        """[B, L, T], [B, L, F] -> step values [B', L, step_width] (B' = B or B*T)."""
        if not self.channel_independent:
            return ops.concatenate([targets, features], axis=-1)
        batch = ops.shape(targets)[0]
        num_targets = len(self.target_channels)
        length = self.input_length
        own = ops.reshape(ops.transpose(targets, (0, 2, 1)), (-1, length, 1))
        parts = [own]
        if self.feature_channels:
            shared = ops.repeat(features, num_targets, axis=0)          # row b*T + c
            parts.append(shared)
        onehot = ops.tile(ops.eye(num_targets, dtype=targets.dtype), (batch, 1))
        parts.append(ops.repeat(onehot[:, None, :], length, axis=1))
        return ops.concatenate(parts, axis=-1)

    def _embed(self, steps, embedding):
        """[B', L, W] -> RNN inputs [B', n, E]: segments through ``embedding``."""
        if not self.segment_length:
            return steps
        width = steps.shape[-1]
        segments = ops.reshape(steps, (-1, ops.shape(steps)[1] // self.piece,
                                       self.piece * width))
        return embedding(segments)

    def _pieces_to_forecast(self, pieces):
        """[B', steps * out_width * Q] -> [B, H, T] or, with quantiles, [B, H, T, Q]
        (drops decoded steps past the horizon)."""
        steps = self.horizon if self.decoder == "direct" else self.num_pieces * self.piece
        values = ops.reshape(pieces, (-1, steps, self.out_width, self.num_levels))
        values = values[:, :self.horizon]
        if self.channel_independent:
            num_targets = len(self.target_channels)
            values = ops.reshape(values, (-1, num_targets, self.horizon, self.num_levels))
            values = ops.transpose(values, (0, 2, 1, 3))
        return values if self.quantiles else values[..., 0]

    def _future_pieces(self, future):
        """[B, H, k] -> [B', m, P' k]: each output piece's future rows, flattened
        (zero-padded past the horizon; repeated per target channel when
        channel-independent, row b*T + c as in ``_series``)."""
        if self.channel_independent:
            future = ops.repeat(future, len(self.target_channels), axis=0)
        pad = self.num_pieces * self.piece - self.horizon
        if pad:
            future = ops.pad(future, ((0, 0), (0, pad), (0, 0)))
        return ops.reshape(future, (-1, self.num_pieces, self.piece * self.num_future))

    def _decode_parallel(self, states, training, future=None):
        batch = ops.shape(states[0])[0]
        m = self.num_pieces
        # Every output segment starts from the encoder's final state: row
        # b*m + k is segment k of series b.
        tiled = [ops.repeat(s, m, axis=0) for s in states]
        inputs = ops.tile(self.position_embedding, (batch, 1))           # [B'*m, E]
        if self.channel_independent:
            num_targets = len(self.target_channels)
            channel = ops.repeat(self.channel_embedding, m, axis=0)      # [T*m, E]
            inputs = inputs + ops.tile(channel, (batch // num_targets, 1))
        if future is not None:
            # [pos_k, f_k] @ [I; V] = pos_k + V f_k: row b*m + k gets piece k of series b.
            pieces = ops.reshape(self._future_pieces(future), (-1, self.piece * self.num_future))
            inputs = inputs + self.future_projection(pieces)
        outputs, *_ = self.encoder(inputs[:, None, :], initial_state=tiled, training=training)
        pieces = self.head(self.head_dropout(outputs, training=training))  # [B'*m, P*o]
        return ops.reshape(pieces, (batch, -1))

    def _decode_autoregressive(self, output, states, onehot, training, future=None):
        pieces = []
        future_pieces = None if future is None else self._future_pieces(future)
        if future_pieces is not None:
            output = output + self.future_projection(future_pieces[:, 0])
        for k in range(self.num_pieces):
            piece = self.head(self.head_dropout(output, training=training))  # [B', P*o]
            pieces.append(piece)
            if k == self.num_pieces - 1:
                break
            values = ops.reshape(piece, (-1, self.piece, self.out_width, self.num_levels))
            # The median (the point forecast) is what is fed back.
            values = values[..., self.quantiles.index(0.5) if self.quantiles else 0]
            if self.feedback_embedding is not None:
                step = ops.reshape(values, (-1, self.piece * self.out_width))
                if future_pieces is not None:
                    step = ops.concatenate([step, future_pieces[:, k + 1]], axis=-1)
                if onehot is not None:
                    step = ops.concatenate([step, onehot], axis=-1)
                step = self.feedback_embedding(step)[:, None, :]
            else:
                # Same layout as an encoder segment (no features): reuse its embedding.
                if onehot is not None:
                    values = ops.concatenate(
                        [values, ops.repeat(onehot[:, None, :], self.piece, axis=1)], axis=-1)
                step = self._embed(values, self.embedding)
            output, *states = self.encoder(step, initial_state=states, training=training)
        return ops.concatenate(pieces, axis=-1)

    def _split_inputs(self, inputs):
        """``x`` or ``(x, f)`` / ``{"window": x, "future": f}`` -> (x, f or None)."""
        if not self.num_future:
            return inputs, None
        if isinstance(inputs, dict) and set(inputs) >= {"window", "future"}:
            window, future = inputs["window"], inputs["future"]
        elif isinstance(inputs, (tuple, list)) and len(inputs) == 2:
            window, future = inputs
        else:
            raise ValueError(f"inputs: expected (window, future) with future [batch, "
                             f"horizon={self.horizon}, {self.num_future}] (the model has "
                             f"num_future={self.num_future}), got {type(inputs).__name__}")
        expected = (self.horizon, self.num_future)
        if tuple(future.shape[1:]) != expected:
            raise ValueError(f"future: expected shape [batch, {expected[0]}, {expected[1]}], "
                             f"got {tuple(future.shape)}")
        return window, future

    def call(self, inputs, training=False):
        inputs, future = self._split_inputs(inputs)
        targets = ops.take(inputs, self.target_channels, axis=-1)
        features = (ops.take(inputs, self.feature_channels, axis=-1)
                    if self.feature_channels else inputs[..., :0])
        if self.instance_norm == "last":
            level = ops.stop_gradient(targets[:, -1:, :])
        elif self.instance_norm == "mean":
            level = ops.stop_gradient(ops.mean(targets, axis=1, keepdims=True))
        else:
            level = None
        if level is not None:
            targets = targets - level

        steps = self._series(targets, features)
        sequence = self._embed(steps, getattr(self, "embedding", None))
        if self.bidirectional:
            output, states = self.encoder(sequence, training=training), None
        else:
            output, *states = self.encoder(sequence, training=training)

        if self.decoder == "direct":
            if future is not None:
                per_series = (ops.repeat(future, len(self.target_channels), axis=0)
                              if self.channel_independent else future)
                flat = ops.reshape(per_series, (-1, self.horizon * self.num_future))
                output = output + self.future_projection(flat)
            pieces = self.head(self.head_dropout(output, training=training))
        elif self.decoder == "parallel":
            pieces = self._decode_parallel(states, training, future)
        else:
            onehot = steps[:, 0, -len(self.target_channels):] if self.channel_independent \
                else None
            pieces = self._decode_autoregressive(output, states, onehot, training, future)
        forecast = self._pieces_to_forecast(pieces)
        if level is not None:
            forecast = forecast + (level[..., None] if self.quantiles else level)
        if self.quantiles:
            forecast = ops.sort(forecast, axis=-1)
        return forecast

    def get_config(self):
        return {**super().get_config(), **dict(
            input_length=self.input_length, horizon=self.horizon, num_inputs=self.num_inputs,
            target_channels=list(self.target_channels), cell=self.cell_kind,
            num_layers=self.num_layers, hidden_size=self.hidden_size,
            bidirectional=self.bidirectional, dropout=self.dropout_rate,
            recurrent_dropout=self.recurrent_dropout, segment_length=self.segment_length,
            channel_independent=self.channel_independent, instance_norm=self.instance_norm,
            decoder=self.decoder, cell_kwargs=self.cell_kwargs, seed=self.seed,
            quantiles=list(self.quantiles), num_future=self.num_future)}

    def example_inputs(self, batch=1):
        """Zero inputs of the model's shapes: ``x``, or ``(x, f)`` with future inputs."""
        window = ops.zeros((batch, self.input_length, self.num_inputs))
        if not self.num_future:
            return window
        return window, ops.zeros((batch, self.horizon, self.num_future))

    # Keras saving (``model.save("forecaster.keras")``): the layers are made in
    # ``__init__`` from the config; building is one call on zeros, which also
    # covers the (window, future) pair that a shape-only build cannot.
    def get_build_config(self):
        return {"example_batch": 1}

    def build_from_config(self, config):
        self(self.example_inputs(), training=False)
