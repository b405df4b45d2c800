"""seqkit.export.translator: raw strings in, translations out, without seqkit, exactly."""
import json
import os

import keras
import pytest
import tensorflow as tf

from seqkit.data import translation as T
from seqkit.export import translator as export
from seqkit.seq2seq import Seq2Seq, Translator, masked_loss
from tests.helpers import half_written_save, run_without_seqkit


def _train(model, data, steps, seed=0):
    optimizer = keras.optimizers.Adam(1e-2)
    variables = model.trainable_variables
    batches = list(T.batches(data.splits["train"], 32, seed=seed, bos_id=data.bos_id,
                             eos_id=data.eos_id))
    for step in range(steps):
        batch = batches[step % len(batches)]
        with tf.GradientTape() as tape:
            loss, count = masked_loss(model((batch.source, batch.target_inputs),
                                            training=True), batch.target_outputs)
            loss = loss / count
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))


def _messy(text, index):
    """The same sentence as a user might type it: capitals, no-break and double spaces."""
    if index % 3 == 0:
        text = text.upper()
    if index % 4 == 1:
        text = "  " + text.replace(" ", "\u00a0", 1) + " "
    return text


@pytest.fixture(scope="module")
def word_translator(tmp_path_factory):
    """A briefly trained word-level translator (lowercasing), exported with beam search
    (beam 3) as its default decoding; ``translate_beam`` with 1 is then greedy."""
    keras.utils.set_random_seed(1)
    data = T.load_translation_data(num_generated=1200, lowercase=True, seed=2)
    model = Seq2Seq(len(data.source_vocab), len(data.target_vocab), data.bos_id, data.eos_id,
                    cell="gru", units=16, bidirectional=True, attention="luong", seed=1)
    model.build()
    _train(model, data, 40)
    greedy = Translator(model, data.source_vocab, data.target_vocab, "word", lowercase=True,
                        max_decode_length=16)
    beam = Translator(model, data.source_vocab, data.target_vocab, "word", lowercase=True,
                      max_decode_length=16, beam_size=3)
    folder = tmp_path_factory.mktemp("translator")
    export.export_translator(beam, str(folder / "beam"))
    texts = [_messy(t, i) for i, t in enumerate(data.splits["test"].source_texts[:100])]
    return {"data": data, "greedy": greedy, "beam": beam, "folder": folder, "texts": texts}


def test_exported_translations_equal_in_process_without_seqkit(word_translator):
    folder, texts = word_translator["folder"], word_translator["texts"]
    with open(folder / "texts.json", "w") as handle:
        json.dump(texts + ["", "   "], handle)
    report = json.loads(run_without_seqkit(f"""
        import json
        import tensorflow as tf
        texts = json.load(open("texts.json"))
        try:
            import seqkit
            importable = True
        except ImportError:
            importable = False
        out = {{"seqkit_importable": importable}}
        beam = tf.saved_model.load({str(folder / 'beam')!r})
        def run(signature, **kwargs):
            return [t.decode() for t in signature(source=tf.constant(texts),
                                                  **kwargs)["translation"].numpy()]
        out["beam_default"] = run(beam.signatures["translate"])
        out["beam_3"] = run(beam.signatures["translate_beam"], beam_size=tf.constant(3))
        out["beam_1"] = run(beam.signatures["translate_beam"], beam_size=tf.constant(1))
        empty = beam.signatures["translate"](source=tf.constant([], tf.string))
        out["empty_batch_shape"] = empty["translation"].shape.as_list()
        out["metadata"] = {{k: (v.numpy().decode() if v.dtype == tf.string else v.numpy().item())
                           for k, v in beam.signatures["metadata"]().items()}}
        print(json.dumps(out))
    """, folder).strip().splitlines()[-1])
    assert report["seqkit_importable"] is False
    all_texts = texts + ["", "   "]
    in_process = word_translator["greedy"].translate(all_texts)
    assert report["beam_1"] == in_process
    beam = word_translator["beam"].translate(all_texts)
    assert report["beam_default"] == beam
    assert report["beam_3"] == beam
    assert report["beam_1"][-2:] == ["", ""]  # empty sources: empty translations
    assert report["beam_default"][-2:] == ["", ""]
    assert report["empty_batch_shape"] == [0]
    # The translations are real ones: most reach <eos> and some differ by input.
    assert len(set(in_process)) > 5
    assert report["metadata"]["tokenize"] == "word"
    assert report["metadata"]["default_beam_size"] == 3
    # The messy spellings translate like the clean ones.
    clean = word_translator["greedy"].translate(
        word_translator["data"].splits["test"].source_texts[:100])
    assert in_process[:100] == clean


def test_beam_size_below_one_is_refused_naming_the_signature(word_translator):
    loaded = tf.saved_model.load(str(word_translator["folder"] / "beam"))
    with pytest.raises(tf.errors.InvalidArgumentError, match="`beam_size` must be .* >= 1"):
        loaded.signatures["translate_beam"](source=tf.constant(["kato hundo vidi"]),
                                            beam_size=tf.constant(0))


@pytest.mark.parametrize("tokenize", ["char", "space"])
def test_nfc_and_whitespace_inside_the_graph(tmp_path, tokenize):
    pairs = {"train": [("ein mädchen läuft", "a girl runs"), ("zwei männer", "two men"),
                       ("ein café", "a cafe")] * 3,
             "valid": [("ein mädchen", "a girl")], "test": [("zwei mädchen", "two girls")]}
    data = T.build_data(pairs, tokenize)
    model = Seq2Seq(len(data.source_vocab), len(data.target_vocab), data.bos_id, data.eos_id,
                    cell="lstm", units=8, attention="bahdanau", seed=2)
    model.build()
    translator = Translator(model, data.source_vocab, data.target_vocab, tokenize,
                            max_decode_length=6)
    path = export.export_translator(translator, str(tmp_path / "export"))
    loaded = tf.saved_model.load(path)
    composed = ["ein mädchen läuft", "zwei männer", "ein café"]
    decomposed = ["ein ma\u0308dchen\u00a0la\u0308uft", " zwei\u2009 ma\u0308nner ",
                  "ein cafe\u0301"]
    served = [t.decode() for t in loaded.signatures["translate"](
        source=tf.constant(composed + decomposed))["translation"].numpy()]
    assert served == translator.translate(composed + decomposed)
    assert served[:3] == served[3:]


def test_nfc_table_lists_the_vocabulary_characters_nfd_changes():
    table = export.nfc_table(["mädchen", "café", "plain", "ǘ"])
    assert ("a\u0308", "ä") in table and ("e\u0301", "é") in table
    assert table[0] == ("u\u0308\u0301", "ǘ")  # the longest decomposition first
    assert len(table) == 3


def test_failed_export_leaves_the_previous_one(word_translator, monkeypatch, tmp_path):
    path = str(tmp_path / "export")
    os.makedirs(os.path.join(path, "variables"))
    with open(os.path.join(path, "saved_model.pb"), "w") as handle:
        handle.write("the previous export")
    before = sorted(os.listdir(path))
    monkeypatch.setattr(tf.saved_model, "save", half_written_save)
    with pytest.raises(OSError, match="disk full"):
        export.export_translator(word_translator["greedy"], path)
    assert sorted(os.listdir(path)) == before
    with open(os.path.join(path, "saved_model.pb")) as handle:
        assert handle.read() == "the previous export"
    assert os.listdir(tmp_path) == ["export"]  # no temporary folder left behind
