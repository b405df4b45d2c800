"""Export a language model as a SavedModel that scores, streams and generates text.

``export_language_model(model, vocab, path, level)`` writes a TensorFlow
SavedModel (atomically, through ``seqkit.export.atomic_directory``) that needs
neither seqkit nor Keras to run: ``tf.saved_model.load(path)`` in any Python
with TensorFlow, or TF Serving, or ``saved_model_cli run``.
``export_checkpoint(train_dir, path)`` does the same for the latest checkpoint
of an ``experiments.lm`` run.

Signatures (every input and output is named; ``V`` = vocabulary size, ``k`` =
number of state tensors, ``state_i`` the i-th entry of ``model.state_sizes``,
in the stack's flat order ``[layer 1 states..., layer 2 states..., ...]`` with
an LSTM layer's states ``[h, c]``; ``metadata`` lists the names)::

    score(tokens int32 [batch, time])
        -> log_probs float32 [batch, time, V]   log p(w_{t+1} | w_<=t), from the zero state
           state_0 .. state_{k-1}               the state after the last token
    initial_state(batch_size int32 [])
        -> state_0 .. state_{k-1} float32 [batch_size, size_i]   (zeros)
    step(tokens int32 [batch], state_0 .. state_{k-1} float32 [batch, size_i])
        -> logits float32 [batch, V], state_0 .. state_{k-1}   one token per row
    generate(prompt string [], num_tokens int32 [], temperature float32 [], seed int32 [])
        -> text string [], tokens string [num_tokens], token_ids int32 [num_tokens]
    metadata()
        -> vocab_size int32 [], level string [], cell string [],
           state_sizes int32 [k], state_names string [k]

``step`` from ``initial_state`` over a sequence gives, position by position,
the logits whose ``log_softmax`` ``score`` returns: a client streams at any
batch size with nothing but these two.

``generate`` does everything inside the graph, as ``seqkit.language_model.sample``
does in Python: the prompt is split into tokens (``level="word"``: on
whitespace; ``"char"``: into Unicode characters), a line break becomes
``<eos>`` (the corpus loaders' rule), tokens are mapped to ids by a lookup table
built from the ``assets/vocab.txt`` asset (unknown tokens become ``<unk>``; a
vocabulary without ``<unk>`` refuses them, naming them), and an empty prompt
starts from token id 0 (as ``sample`` does). The prompt sets the state, then
each of ``num_tokens`` tokens is drawn from ``softmax(logits / temperature)``
by ``sample_token`` (the inverse of its CDF at a uniform number; token k's
uniform is entry ``k % GENERATE_CHUNK`` of
``tf.random.stateless_uniform([GENERATE_CHUNK], seed=(seed, k // GENERATE_CHUNK))``,
so the same seed gives the same text, and a shorter request the first tokens
of a longer one) and fed back; ``temperature`` 0 takes the most likely token.
``text`` is the continuation only, rendered as
``seqkit.data.text.detokenize(tokens, level)`` renders it (tested equal):
joined by " " at word level (``<eos>`` stays literal, a visible sentence mark on
one line), or by "" at char level, where ``<eos>`` becomes a line break.
A prompt that is not valid UTF-8 is refused (``InvalidArgumentError`` naming
``prompt``), as is a ``score`` call with no tokens in a row.

Errors at serving time name the expected signature:

* calling the functions of the loaded object (``loaded.step(...)``, which take
  positional arguments in the order above) with a wrong dtype or shape raises
  TensorFlow's ``TypeError`` ending with the whole signature, e.g.
  ``Can not cast TensorSpec(shape=(2,), dtype=tf.float32, name='tokens') to
  TensorSpec(shape=(None,), dtype=tf.int32, name='tokens')``;
* a signature (``loaded.signatures["step"](tokens=..., ...)``, TF Serving)
  checks only dtypes itself ("input #2 was expected to be a int32 tensor but
  is a float tensor"), so every shape, and the token ids' range, is checked
  by an assertion in the graph whose message spells out the signature's
  ``TensorSpec`` s (``InvalidArgumentError``).

The vocabulary (``assets/vocab.txt``, one token per line, line i = id i) and
``assets/metadata.json`` (the facts of ``metadata`` plus the model's config and
the signatures in words) travel with the SavedModel.

Example:
    >>> export_language_model(model, corpus.vocab, "/tmp/lm")            # doctest: +SKIP
    >>> lm = tf.saved_model.load("/tmp/lm")                              # doctest: +SKIP
    >>> lm.signatures["generate"](prompt=tf.constant("the cat"),         # doctest: +SKIP
    ...     num_tokens=tf.constant(20), temperature=tf.constant(0.8),
    ...     seed=tf.constant(1))["text"].numpy().decode()
    >>> state = lm.signatures["initial_state"](batch_size=tf.constant(3))  # doctest: +SKIP
    >>> out = lm.signatures["step"](tokens=tf.constant([4, 2, 7]), **state)  # doctest: +SKIP
    >>> out["logits"].shape                                              # doctest: +SKIP
    TensorShape([3, 10000])
"""
from __future__ import annotations

import inspect
import json
import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from seqkit.data import text as text_data
from seqkit.export import atomic_directory

VOCAB_FILE = "vocab.txt"
METADATA_FILE = "metadata.json"
SIGNATURES = ("score", "initial_state", "step", "generate", "metadata")
FORMAT = "seqkit.language_model/1"
# Tokens per compiled round of ``generate`` (see ``LanguageModelModule._generate``).
GENERATE_CHUNK = 128


def _spec_text(spec):
    """``TensorSpec(shape=(None, 8), dtype=tf.float32)``, as TensorFlow writes it.

    Without the ``name='...'`` part: an Assert message prints every quote with
    a backslash before it, and the name is said next to the spec anyway.
    """
    return f"TensorSpec(shape={tuple(spec.shape.as_list())}, dtype=tf.{spec.dtype.name})"


def _describe(name, specs):
    """``name(arg: TensorSpec(...), ...)``: the signature, in the form of TF's own errors."""
    return f"{name}(" + ", ".join(f"{spec.name}: {_spec_text(spec)}" for spec in specs) + ")"


def _runtime_shape(value, spec):
    """``value``'s shape as fed, hidden from static shape inference.

    Inside the function the input has the spec's static shape, so ``tf.rank``
    or ``tf.size(tf.shape(x))`` fold into constants at trace time (or in
    Grappler), and a fixed dimension may too, but a signature call does not
    enforce that shape. A round trip through ``serialize_tensor`` /
    ``parse_tensor`` yields a tensor of unknown shape that nothing can fold.
    For specs with a free dimension only the small shape vector makes the
    trip; a fully defined spec (a scalar here) makes it whole.
    """
    if spec.shape.is_fully_defined():
        return tf.shape(tf.io.parse_tensor(tf.io.serialize_tensor(value), spec.dtype))
    return tf.io.parse_tensor(tf.io.serialize_tensor(tf.shape(value)), tf.int32)


def _shape_assert(signature, spec, value, meaning, batch=None):
    """An assertion that ``value`` has ``spec``'s shape (and first dimension ``batch``).

    A signature call does not check shapes, and a wrong one would otherwise
    fail deep inside the model ("Matrix size-incompatible ...") or, worse,
    broadcast silently; the message names the argument and the signature.
    """
    expected = spec.shape.as_list()
    shape = _runtime_shape(value, spec)
    # Padded so that indexing cannot fail when the rank is wrong.
    padded = tf.concat([shape, tf.fill([len(expected)], -1)], axis=0)
    ok = tf.equal(tf.size(shape), len(expected))
    for axis, size in enumerate(expected):
        if size is not None:
            ok = tf.logical_and(ok, tf.equal(padded[axis], size))
    if batch is not None:
        ok = tf.logical_and(ok, tf.equal(padded[0], batch))
    message = (f"`{spec.name}` must be {_spec_text(spec)} ({meaning}) in the signature "
               f"{signature}; got `{spec.name}` of shape")
    return tf.debugging.Assert(ok, [message, shape], summarize=8)


def one_token_step(model):
    """``(tokens [batch], states) -> (logits float32 [batch, V], new states)``, or None.

    The same numbers as ``model((tokens[:, None], states))`` for one token, but
    computed by each cell's own one-step ``call`` (the reference path of
    ``seqkit.layers``): embedding lookup, then ``h, states = cell(x, states)``
    layer by layer, then the softmax layer. A whole-sequence layer call costs a
    ``tf.while_loop``, TensorArrays and transposes around its single step; at
    batch 1 those ops, not the arithmetic, were most of ``step``'s time
    (BUILD_NOTES.md, "Exported language model").

    Returns None (callers then run the model itself) unless ``model`` is a
    ``seqkit.language_model.LanguageModel`` over a unidirectional, non-residual
    stack of Elman, LSTM or GRU layers: other models (Clockwork, whose step
    depends on the time index, or any other Keras model) keep the model path.
    """
    from seqkit import builders
    from seqkit.language_model import LanguageModel
    from seqkit.layers import elman, gru, lstm

    rnn = getattr(model, "rnn", None)
    if (not isinstance(model, LanguageModel) or type(rnn) is not builders.StackedRNN
            or rnn.residual):
        return None
    cells = [layer.cell for layer in rnn.forward_layers]
    plain = (elman.ElmanCell, lstm.LSTMCell, gru.GRUCell)
    if any(type(cell) not in plain or layer.go_backwards
           for cell, layer in zip(cells, rnn.forward_layers)):
        return None
    counts = [len(cell.state_size) if isinstance(cell.state_size, (list, tuple)) else 1
              for cell in cells]

    def step(tokens, states):
        # Dropout layers are identities at inference, so they are left out.
        hidden = model.embedding(tokens)
        new_states, start = [], 0
        for cell, count in zip(cells, counts):
            layer_states = [tf.cast(s, cell.compute_dtype) for s in states[start:start + count]]
            hidden = tf.cast(hidden, cell.compute_dtype)
            # Through the cell's __call__, as Keras's RNN layer steps it: under a
            # mixed policy that reads the float32 weights in the cell's compute
            # dtype (a bare cell.call would multiply bfloat16 by float32).
            hidden, layer_states = cell(hidden, layer_states, training=False)
            # The cell caches dropout masks (drawn, unused, when it has a
            # dropout rate); the RNN layer clears them after each call, so do we.
            cell.reset_dropout_mask()
            cell.reset_recurrent_dropout_mask()
            new_states.extend(tf.cast(s, tf.float32) for s in layer_states)
            start += count
        logits = model.output_layer(hidden)
        return tf.cast(logits, tf.float32), new_states

    return step


def sample_token(logits, uniform, temperature):
    """One token id drawn from ``softmax(logits / temperature)``, by inverting its CDF at ``uniform``.

    ``logits`` float32 [1, V] (V static), ``uniform`` a float32 scalar in
    [0, 1), ``temperature`` > 0; returns int32 [1]. Token i is chosen when
    ``cdf[i-1] <= uniform * cdf[V-1] < cdf[i]``, so a uniform ``uniform`` gives
    token i with probability ``p_i`` exactly (tested on a grid of uniforms).
    The CDF is built in two levels, row sums of a [ceil(V / w), w] table with
    w = ceil(sqrt(V)) and then the one row the target falls in: under XLA a
    cumulative sum costs the square of its length (a reduce-window), and
    10,000 words squared is 10^8 additions per token, 100 squared is 10^4.
    The same ops run in the plain graph and under XLA, so both draw the same
    token for a uniform (up to a float rounding at a CDF step).
    """
    vocab_size = int(logits.shape[-1])
    width = int(np.ceil(np.sqrt(vocab_size)))
    rows = -(-vocab_size // width)
    probs = tf.nn.softmax(logits[0] / temperature)
    table = tf.reshape(tf.pad(probs, [[0, rows * width - vocab_size]]), [rows, width])
    row_sums = tf.reduce_sum(table, axis=1)
    row_starts = tf.cumsum(row_sums, exclusive=True)
    target = uniform * tf.reduce_sum(row_sums)
    # The last row that starts at or before the target (rows of no mass that
    # start at the same point come earlier and are passed over).
    row = tf.maximum(tf.reduce_sum(tf.cast(row_starts <= target, tf.int32)) - 1, 0)
    # tf.gather, not table[row]: XLA's strided slice wants a compile-time
    # constant start, and TensorFlow meets that by compiling anew for each value
    # of the inputs it depends on (here: every uniform, every call).
    ends = tf.gather(row_starts, row) + tf.cumsum(tf.gather(table, row))
    column = tf.minimum(tf.reduce_sum(tf.cast(ends <= target, tf.int32)), width - 1)
    return tf.minimum(row * width + column, vocab_size - 1)[None]


def chunk_generator(run_one):
    """``generate_chunk(last, states, uniforms, temperature, count)`` over ``run_one``.

    ``generate_chunk`` draws ``count`` (<= GENERATE_CHUNK) tokens from ``last``
    [1, V] logits and ``states``, token k with ``uniforms[k]`` (float32
    [GENERATE_CHUNK]) through ``sample_token``, or the most likely token when
    ``temperature`` is 0, feeding each to ``run_one(tokens, states) ->
    (logits, states)``. Returns the ids (int32 [GENERATE_CHUNK], zeros past
    ``count``), the logits after the last one and the states: the last token
    is fed once more, as ``seqkit.language_model.sample`` does, and that call
    sets the next chunk off. Compiled with XLA, one program serves every
    argument value (tested: the HLO does not depend on them).
    """
    def generate_chunk(last, states, uniforms, temperature, count):
        def body(i, last, states, ids):
            token = tf.cond(  # temperature 0 takes the most likely token
                temperature > 0,
                lambda: sample_token(last, tf.gather(uniforms, i), temperature),
                lambda: tf.argmax(last, axis=-1, output_type=tf.int32))
            ids = tf.tensor_scatter_nd_update(ids, [[i]], token)
            logits, new_states = run_one(token, states)
            return i + 1, logits, list(new_states), ids

        _, last, states, ids = tf.while_loop(
            lambda i, *_: i < count, body,
            (tf.constant(0), last, list(states), tf.zeros([GENERATE_CHUNK], tf.int32)))
        return ids, last, states

    return generate_chunk


def _compiles(run_one, state_sizes):
    """Whether XLA compiles ``run_one`` (a probe call at batch 1): else the plain graph."""
    try:
        probe = tf.function(run_one, jit_compile=True, autograph=False)
        probe(tf.zeros([1], tf.int32), [tf.zeros([1, size]) for size in state_sizes])
    except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError,
            tf.errors.NotFoundError, tf.errors.InternalError):
        return False
    return True


class LanguageModelModule(tf.Module):
    """The exported object: the model's variables, the vocabulary tables, the functions.

    Not for direct use: ``export_language_model`` builds and saves it; a loaded
    SavedModel has the same functions (``score``, ``initial_state``, ``step``,
    ``generate``, ``metadata``) and the ``vocabulary_file`` and
    ``metadata_file`` assets.
    """

    def __init__(self, model, vocab, level, vocab_path, metadata_path, jit_compile=True):
        super().__init__(name="language_model")
        # The SavedModel holds the model's variables, not the Keras object: the
        # functions capture the variables, and tracking this list is what makes
        # tf.saved_model.save write their values. The model itself is reached
        # through a plain closure, which tf.Module does not track, so Keras's own
        # saving machinery stays out of the export.
        self.model_variables = list(model.variables)

        def run(tokens, states):
            logits, new_states = model((tokens, list(states)), training=False)
            return tf.cast(logits, tf.float32), list(new_states)

        self._run = run
        # One token per row (``step`` and every ``generate`` round): the cells'
        # own ``call`` instead of the layers' whole-sequence loops, when the
        # model allows it (``one_token_step``); else the model on [batch, 1].
        fast = one_token_step(model)

        def run_one(tokens, states):
            if fast is not None:
                return fast(tokens, list(states))
            logits, new_states = run(tokens[:, None], states)
            return logits[:, 0], new_states

        # ``step`` has XLA compile the one-token math (embedding, cells, softmax
        # layer) into one kernel: at batch 1 the graph's per-op overhead and the
        # 10,000-wide matrix-vector product of the softmax layer dominate, and
        # XLA's code for both measured faster (BUILD_NOTES.md). The checks stay
        # outside (XLA has no string ops, and its Assert is a no-op).
        # ``generate`` compiles whole chunks of tokens the same way.
        self.jit_compile = bool(jit_compile) and fast is not None and _compiles(
            run_one, [int(size) for size in model.state_sizes])
        compiled = tf.function(run_one, jit_compile=self.jit_compile, autograph=False)
        # Closures, not attributes: tf.Module would save a tf.function attribute.
        self._run_one_compiled = lambda tokens, states: compiled(tokens, list(states))

        chunk = tf.function(chunk_generator(run_one), jit_compile=self.jit_compile,
                            autograph=False)
        self._generate_chunk = lambda last, states, uniforms, temperature, count: chunk(
            last, list(states), uniforms, temperature, count)
        self._vocab_size = len(vocab)
        self._level = level
        self._state_sizes = [int(size) for size in model.state_sizes]
        self._cell = str(getattr(model, "cell", type(model).__name__))
        rnn = getattr(model, "rnn", None)
        self._state_names = [str(name) for name in getattr(
            rnn, "state_names", [f"state_{i}" for i in range(len(self._state_sizes))])]
        self._unk_id = vocab.unk_id
        self._eos = text_data.EOS if text_data.EOS in vocab else None

        self.vocabulary_file = tf.saved_model.Asset(vocab_path)
        self.metadata_file = tf.saved_model.Asset(metadata_path)
        self._token_to_id = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(
                self.vocabulary_file, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER, vocab_size=self._vocab_size),
            # -1 marks an unknown token when there is no <unk> to map it to.
            default_value=-1 if self._unk_id is None else self._unk_id)
        self._id_to_token = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(
                self.vocabulary_file, tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER,
                tf.string, tf.lookup.TextFileIndex.WHOLE_LINE, vocab_size=self._vocab_size),
            default_value="")

        states = [tf.TensorSpec([None, size], tf.float32, name=f"state_{i}")
                  for i, size in enumerate(self._state_sizes)]
        self._specs = {
            "score": [tf.TensorSpec([None, None], tf.int32, name="tokens")],
            "initial_state": [tf.TensorSpec([], tf.int32, name="batch_size")],
            "step": [tf.TensorSpec([None], tf.int32, name="tokens"), *states],
            "generate": [tf.TensorSpec([], tf.string, name="prompt"),
                         tf.TensorSpec([], tf.int32, name="num_tokens"),
                         tf.TensorSpec([], tf.float32, name="temperature"),
                         tf.TensorSpec([], tf.int32, name="seed")],
            "metadata": [],
        }
        self._signature_text = {name: _describe(name, specs)
                                for name, specs in self._specs.items()}
        # autograph=False: the loops are written as tf.while_loop on purpose,
        # and the Python `for`s over the states must stay Python loops.
        for name, function in (("score", self._score), ("initial_state", self._initial_state),
                               ("step", self._step), ("generate", self._generate),
                               ("metadata", self._metadata)):
            setattr(self, name, tf.function(function, input_signature=self._specs[name],
                                            autograph=False))

    # -- helpers -------------------------------------------------------------------
    def _state_dict(self, states):
        return {f"state_{i}": state for i, state in enumerate(states)}

    def _zero_states(self, batch_size):
        return [tf.zeros([batch_size, size], tf.float32) for size in self._state_sizes]

    def _checked(self, checks, values):
        """``values`` through ``tf.identity`` after ``checks``: the model waits for them.

        Without the ordering a wrong shape could fail first inside the model,
        with a message that names a matmul instead of the signature.
        """
        with tf.control_dependencies(checks):
            return [tf.identity(value) for value in values]

    def _ids_assert(self, name, tokens):
        # Flattened first: a reduction over the spec's static rank would itself
        # fail on a signature input of another rank, before any message.
        tokens = tf.reshape(tokens, [-1])
        ok = tf.reduce_all(tf.logical_and(tokens >= 0, tokens < self._vocab_size))
        return tf.debugging.Assert(ok, [
            f"`tokens` must be token ids in [0, {self._vocab_size}) (the vocabulary size) in "
            f"the signature {self._signature_text[name]}; got ids from",
            tf.reduce_min(tokens), "to", tf.reduce_max(tokens)])

    # -- the signatures ---------------------------------------------------------------
    def _score(self, tokens):
        spec = self._specs["score"][0]
        checks = [_shape_assert(self._signature_text["score"], spec, tokens, "token ids "
                                "[batch, time]"), self._ids_assert("score", tokens)]
        # A row of no tokens has nothing to score (and would otherwise fail inside
        # the recurrent loop with "Tried to stack elements of an empty list").
        shape = _runtime_shape(tokens, spec)
        checks.append(tf.debugging.Assert(tf.reduce_all(shape[1:] > 0), [
            f"`tokens` must hold at least one token per row (time >= 1) in the signature "
            f"{self._signature_text['score']}; got `tokens` of shape", shape], summarize=8))
        (tokens,) = self._checked(checks, [tokens])
        logits, states = self._run(tokens, self._zero_states(tf.shape(tokens)[0]))
        return {"log_probs": tf.nn.log_softmax(logits, axis=-1), **self._state_dict(states)}

    def _initial_state(self, batch_size):
        spec = self._specs["initial_state"][0]
        checks = [
            _shape_assert(self._signature_text["initial_state"], spec, batch_size,
                          "a scalar"),
            # reduce_all: a scalar condition even when a signature call passes a vector.
            tf.debugging.Assert(tf.reduce_all(batch_size >= 0), [
                f"`batch_size` must be >= 0 in the signature "
                f"{self._signature_text['initial_state']}; got", batch_size]),
        ]
        (batch_size,) = self._checked(checks, [batch_size])
        return self._state_dict(self._zero_states(batch_size))

    def _step(self, tokens, *states):
        text = self._signature_text["step"]
        specs = self._specs["step"]
        checks = [_shape_assert(text, specs[0], tokens, "one token id per row [batch]")]
        checks += [_shape_assert(text, spec, state, f"[batch, {spec.shape[1]}], batch as in "
                                 "`tokens`", batch=tf.size(tokens))
                   for spec, state in zip(specs[1:], states)]
        checks.append(self._ids_assert("step", tokens))
        tokens, *states = self._checked(checks, [tokens, *states])
        logits, new_states = self._run_one_compiled(tokens, states)
        return {"logits": logits, **self._state_dict(new_states)}

    def _tokenize(self, prompt):
        """The prompt's token ids (int32 [n]); unknown tokens as described in the module doc."""
        # "\r\n" and "\r" are line breaks too, as when the corpus files are read.
        prompt = tf.strings.regex_replace(prompt, "\r\n?", "\n")
        if self._level == "word":
            if self._eos is not None:
                prompt = tf.strings.regex_replace(prompt, "\n", f" {self._eos} ")
            pieces = tf.strings.split(prompt)
        else:
            pieces = tf.strings.unicode_split(prompt, "UTF-8")
            if self._eos is not None:
                pieces = tf.where(tf.equal(pieces, "\n"), self._eos, pieces)
        ids = self._token_to_id.lookup(pieces)
        checks = []
        if self._unk_id is None:
            checks.append(tf.debugging.Assert(tf.reduce_all(ids >= 0), [
                "`prompt` has tokens that are not in the vocabulary, which has no "
                f"{text_data.UNK} token to map them to (signature "
                f"{self._signature_text['generate']}); unknown tokens:",
                tf.boolean_mask(pieces, ids < 0)], summarize=10))
        with tf.control_dependencies(checks):
            ids = tf.cast(ids, tf.int32)
        # An empty prompt starts from token 0, as seqkit.language_model.sample does.
        return tf.cond(tf.size(ids) > 0, lambda: ids, lambda: tf.zeros([1], tf.int32))

    def _generate(self, prompt, num_tokens, temperature, seed):
        text = self._signature_text["generate"]
        specs = self._specs["generate"]
        checks = [_shape_assert(text, spec, value, "a scalar")
                  for spec, value in zip(specs, (prompt, num_tokens, temperature, seed))]
        checks.append(tf.debugging.Assert(tf.reduce_all(num_tokens >= 0), [
            f"`num_tokens` must be >= 0 in the signature {text}; got", num_tokens]))
        checks.append(tf.debugging.Assert(tf.reduce_all(temperature >= 0), [
            f"`temperature` must be >= 0 (0 = most likely token) in the signature {text}; "
            "got", temperature]))
        # Invalid UTF-8 would otherwise become <unk> tokens silently, or reach
        # the client inside an error message it cannot decode. The message shows
        # the prompt with each bad byte replaced by U+FFFD (so it decodes).
        readable = tf.strings.unicode_transcode(prompt, "UTF-8", "UTF-8", errors="replace",
                                                replacement_char=0xFFFD)
        checks.append(tf.debugging.Assert(tf.reduce_all(tf.equal(readable, prompt)), [
            f"`prompt` must be UTF-8 text in the signature {text}; got bytes that are not "
            "valid UTF-8 (each shown as U+FFFD here):", readable], summarize=4))
        prompt, num_tokens, temperature, seed = self._checked(
            checks, [prompt, num_tokens, temperature, seed])

        logits, states = self._run(self._tokenize(prompt)[None, :], self._zero_states(1))
        # The tokens come in chunks of GENERATE_CHUNK, each one call of
        # ``_generate_chunk`` (XLA-compiled with ``step``): one launch per
        # token cost more than the token's arithmetic, one per chunk does not.
        # The chunk's uniforms are drawn here, outside XLA, keyed on
        # (seed, chunk): XLA's random ops need not draw the graph's numbers,
        # and this way the compiled and the plain export sample the same text.
        chunks = (num_tokens + GENERATE_CHUNK - 1) // GENERATE_CHUNK

        def body(chunk, last, states, chosen):
            count = tf.minimum(num_tokens - chunk * GENERATE_CHUNK, GENERATE_CHUNK)
            uniforms = tf.random.stateless_uniform([GENERATE_CHUNK], seed=tf.stack([seed, chunk]))
            ids, last, states = self._generate_chunk(last, states, uniforms, temperature, count)
            return chunk + 1, last, states, chosen.write(chunk, ids)

        _, _, _, chosen = tf.while_loop(
            lambda chunk, *_: chunk < chunks, body,
            (tf.constant(0), logits[:, -1], states,
             tf.TensorArray(tf.int32, size=chunks, element_shape=[GENERATE_CHUNK])))
        token_ids = chosen.concat()[:num_tokens]
        token_ids.set_shape([None])
        tokens = self._id_to_token.lookup(tf.cast(token_ids, tf.int64))
        if self._level == "word":
            joined = tf.strings.reduce_join(tokens, separator=" ")
        else:
            pieces = tokens if self._eos is None else tf.where(
                tf.equal(tokens, self._eos), "\n", tokens)
            joined = tf.strings.reduce_join(pieces)
        return {"text": joined, "tokens": tokens, "token_ids": token_ids}

    def _metadata(self):
        return {"vocab_size": tf.constant(self._vocab_size, tf.int32),
                "level": tf.constant(self._level),
                "cell": tf.constant(self._cell),
                "state_sizes": tf.constant(self._state_sizes, tf.int32,
                                           shape=[len(self._state_sizes)]),
                "state_names": tf.constant(self._state_names, tf.string,
                                           shape=[len(self._state_names)])}


def _check_model(model, vocab):
    """The model's output on a probe: [1, 1, len(vocab)] logits and its declared states."""
    for attribute in ("state_sizes", "initial_state"):
        if not hasattr(model, attribute):
            raise ValueError(
                f"Received a `model` of type {type(model).__name__} without `{attribute}`; "
                "expected a seqkit.language_model.LanguageModel (or a model with its "
                "interface: model((tokens, states)) -> (logits, new_states)).")
    logits, states = model((np.zeros((1, 1), np.int32), model.initial_state(1)), training=False)
    if tuple(logits.shape) != (1, 1, len(vocab)):
        raise ValueError(
            f"`model` and `vocab` disagree: the model's logits for one token have shape "
            f"{tuple(logits.shape)}, expected (1, 1, {len(vocab)}) for a vocabulary of "
            f"{len(vocab)} tokens.")
    sizes = [int(size) for size in model.state_sizes]
    got = [tuple(state.shape) for state in states]
    if got != [(1, size) for size in sizes]:
        raise ValueError(f"`model` returned states of shapes {got}, expected "
                         f"{[(1, size) for size in sizes]} from its `state_sizes` {sizes}.")


def export_language_model(model, vocab, path, level="word", extra_metadata=None,
                          jit_compile=True):
    """Write ``model`` with its vocabulary as a SavedModel at ``path`` (atomically).

    Args:
        model: a built ``seqkit.language_model.LanguageModel`` (or any Keras model
            with its interface: ``model((tokens, states)) -> (logits, new_states)``,
            ``initial_state(batch)``, ``state_sizes``).
        vocab: the ``seqkit.data.text.Vocabulary`` of its training data (or a
            sequence of token strings, id order).
        path: the SavedModel folder; an existing export there is replaced only
            once the new one is complete, and stays as it was if this fails.
        level: "word" or "char": how ``generate`` splits and joins text.
        extra_metadata: more JSON-able facts for ``assets/metadata.json``.
        jit_compile: compile the one-token math of ``step`` with XLA (default; ``one_token_step`` models only, and only where a
            probe compiles: otherwise the plain graph, same numbers to float
            rounding). False keeps the plain graph.

    Returns:
        ``path``.

    Raises:
        ValueError: an unknown ``level``, or a model whose vocabulary size or
            states disagree with ``vocab`` / its ``state_sizes``.

    Example:
        >>> model = LanguageModel(vocab_size=len(vocab), hidden_size=32)   # doctest: +SKIP
        >>> export_language_model(model, vocab, "/tmp/lm", level="word")   # doctest: +SKIP
        '/tmp/lm'
    """
    if level not in text_data.LEVELS:
        raise ValueError(f"Received an invalid value for argument `level`, expected one of "
                         f"{text_data.LEVELS}, got {level!r}.")
    if not isinstance(vocab, text_data.Vocabulary):
        vocab = text_data.Vocabulary(vocab)
    _check_model(model, vocab)
    config = model.get_config() if hasattr(model, "get_config") else {}
    metadata = {
        "format": FORMAT,
        "vocab_size": len(vocab),
        "level": level,
        "cell": str(config.get("cell", type(model).__name__)),
        "state_sizes": [int(size) for size in model.state_sizes],
        "unk": text_data.UNK if vocab.unk_id is not None else None,
        "eos": text_data.EOS if text_data.EOS in vocab else None,
        "model_config": config,
        "signatures": {
            "score": "tokens int32 [batch, time] -> log_probs float32 [batch, time, vocab], "
                     "state_i (after the last token)",
            "initial_state": "batch_size int32 [] -> state_i float32 [batch_size, size_i]",
            "step": "tokens int32 [batch], state_i float32 [batch, size_i] -> logits float32 "
                    "[batch, vocab], state_i",
            "generate": "prompt string [], num_tokens int32 [], temperature float32 [], "
                        "seed int32 [] -> text string [], tokens string [num_tokens], "
                        "token_ids int32 [num_tokens]",
            "metadata": "-> vocab_size, level, cell, state_sizes, state_names",
        },
        **(extra_metadata or {}),
    }
    staging = tempfile.mkdtemp(prefix="lm-export-assets-")
    try:
        vocab_path = os.path.join(staging, VOCAB_FILE)
        vocab.save(vocab_path)
        metadata_path = os.path.join(staging, METADATA_FILE)
        module = LanguageModelModule(model, vocab, level, vocab_path, metadata_path,
                                     jit_compile=jit_compile)
        metadata["state_names"] = module._state_names
        metadata["step_jit_compile"] = module.jit_compile
        with open(metadata_path, "w", encoding="utf-8") as handle:
            json.dump(metadata, handle, indent=2, default=str)
        # Traced here, before the target folder is touched: a model that cannot
        # be traced fails without any trace on disk.
        signatures = {name: getattr(module, name).get_concrete_function()
                      for name in SIGNATURES}
        with atomic_directory(path) as temp:
            tf.saved_model.save(module, temp, signatures=signatures)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def build_model_from_flags(flags, vocab_size):
    """The ``LanguageModel`` an ``experiments.lm`` run with ``flags`` (flags.json) trains.

    Every ``LanguageModel`` argument found in ``flags`` is passed on (as
    ``experiments.lm.train.build_model`` does from its config), so the
    variables come out in the same order as in the run's checkpoints.
    """
    from seqkit.language_model import LanguageModel

    names = set(inspect.signature(LanguageModel.__init__).parameters) - {"self", "kwargs",
                                                                         "vocab_size"}
    model = LanguageModel(vocab_size=vocab_size, name="language_model",
                          **{name: flags[name] for name in sorted(names & set(flags))})
    model.build()
    return model


def export_checkpoint(train_dir, path, checkpoint=None):
    """Export the model of an ``experiments.lm`` run's checkpoint (see the module doc).

    Rebuilds the model from ``<train_dir>/flags.json`` and ``vocab.txt``,
    restores its variables from ``checkpoint`` (default: the best-validation
    checkpoint in ``<train_dir>/best``, the weights the run's test metrics come
    from; a run without one falls back to the latest in ``<train_dir>/checkpoints``)
    and calls ``export_language_model`` with the run's ``level``.

    Args:
        train_dir: the run's folder.
        path: the SavedModel folder (written atomically).
        checkpoint: a checkpoint prefix (".../ckpt-3") instead of the latest.

    Returns:
        ``path``.

    Raises:
        FileNotFoundError: ``train_dir`` lacks flags.json, vocab.txt or a checkpoint.
        ValueError: the checkpoint does not hold every variable of the model the
            flags describe (another run's checkpoint, or changed flags).

    Example:
        >>> export_checkpoint("runs/lm", "exports/lm")                  # doctest: +SKIP
    """
    train_dir = os.fspath(train_dir)
    files = {name: os.path.join(train_dir, name) for name in ("flags.json", VOCAB_FILE)}
    for name, file in files.items():
        if not tf.io.gfile.exists(file) or tf.io.gfile.isdir(file):
            raise FileNotFoundError(
                f"Received `train_dir`={train_dir!r} without {name}; expected the folder of "
                "an `experiments.lm` run (flags.json, vocab.txt, checkpoints/).")
    with tf.io.gfile.GFile(files["flags.json"], "r") as handle:
        flags = json.load(handle)
    vocab = text_data.Vocabulary.load(files[VOCAB_FILE])
    if "vocab_size" in flags and int(flags["vocab_size"]) != len(vocab):
        raise ValueError(
            f"`train_dir`={train_dir!r}: flags.json says vocab_size={flags['vocab_size']} but "
            f"vocab.txt holds {len(vocab)} tokens; expected the files of one run.")
    if checkpoint is None:
        # The harness (seqkit.runs) keeps the best-validation epoch in best/ beside
        # the latest ones; the best is what the run's test metrics describe.
        folders = [os.path.join(train_dir, "best"), os.path.join(train_dir, "checkpoints")]
        checkpoint = next(filter(None, map(tf.train.latest_checkpoint, folders)), None)
        if checkpoint is None:
            raise FileNotFoundError(
                f"Received `train_dir`={train_dir!r} with no checkpoint in "
                f"{folders[0]!r} or {folders[1]!r}; expected at least one finished "
                "epoch of `experiments.lm`.")
    model = build_model_from_flags(flags, len(vocab))
    # The same object graph as experiments.lm.train._Checkpoints (a list of the
    # model's variables under "model_variables"); the optimizer's variables and
    # the epoch counter in the checkpoint are not needed here (expect_partial).
    try:
        status = tf.train.Checkpoint(model_variables=list(model.variables)).restore(checkpoint)
        status.expect_partial()
        status.assert_existing_objects_matched()
    except (AssertionError, ValueError) as error:  # a missing or a mis-shaped variable
        raise ValueError(
            f"Checkpoint {checkpoint!r} does not hold every variable of the model that "
            f"{files['flags.json']!r} describes; expected a checkpoint of that run. "
            f"({error})") from error
    return export_language_model(
        model, vocab, path, level=flags.get("level", "word"),
        extra_metadata={"train_dir": os.path.abspath(train_dir),
                        "checkpoint": os.path.abspath(checkpoint)})


__all__ = ["export_language_model", "export_checkpoint", "build_model_from_flags",
           "LanguageModelModule"]
