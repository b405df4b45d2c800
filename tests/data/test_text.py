"""Tests of the LM loaders, the vocabulary and BPTT batching, on tiny files in tmp_path."""
import doctest
import pathlib

import numpy as np
import pytest

from seqkit.data import grammar, text
from seqkit.data.text import (
    Vocabulary,
    batchify,
    iterate_bptt,
    load_corpus,
    load_ptb_style,
    load_text_file,
    load_wikitext_style,
    num_windows,
)

SHARED_PTB = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ptb"


def _write_splits(directory, file_names, contents):
    directory.mkdir(parents=True, exist_ok=True)
    for split, content in contents.items():
        (directory / file_names[split]).write_text(content, encoding="utf-8")
    return directory


# --------------------------------------------------------------------------- Vocabulary


def test_vocabulary_orders_by_count_then_token():
    vocab = Vocabulary.from_tokens("c b a b c b <eos> z".split())
    assert vocab.tokens == ("b", "c", "<eos>", "a", "z")
    assert [vocab.id_of(t) for t in ("b", "z")] == [0, 4]
    assert vocab.token_of(1) == "c"
    assert vocab.unk_id is None
    with_unk = Vocabulary.from_tokens("a a b".split(), extra_tokens=["<unk>", "a"])
    assert with_unk.tokens == ("a", "b", "<unk>")  # never-seen extras sort last
    assert with_unk.unk_id == 2


def test_vocabulary_encode_maps_unknown_tokens_to_unk_and_counts_them():
    vocab = Vocabulary.from_tokens("a b <unk> a".split())
    ids, num_unknown = vocab.encode("a x b y y".split(), split="valid")
    assert ids.dtype == np.int32
    assert vocab.decode(ids) == "a <unk> b <unk> <unk>".split()
    assert num_unknown == 3


def test_vocabulary_without_unk_rejects_unknown_tokens_naming_split_count_examples():
    vocab = Vocabulary.from_tokens("a b".split())
    with pytest.raises(ValueError, match=r"test split has 3 tokens .*'x', 'y'.*'<unk>'"):
        vocab.encode("a x y x b".split(), split="test")


def test_vocabulary_save_load_round_trip(tmp_path):
    # Characters that str.splitlines() would take as line breaks must survive.
    tokens = ["the", " ", "\t", "\x0c", "\x1c", "\u2028", "<unk>", "é", "<eos>"]
    vocab = Vocabulary(tokens)
    path = tmp_path / "vocab.txt"
    vocab.save(path)
    assert path.read_bytes().count(b"\n") == len(tokens)
    assert Vocabulary.load(path) == vocab
    assert Vocabulary.load(path).tokens == tuple(tokens)


@pytest.mark.parametrize("tokens, message", [
    (["a", "b\nc"], "line breaks"),
    (["a", ""], "non-empty"),
    (["a", "b", "a"], "duplicate"),
    ([], "no tokens"),
])
def test_vocabulary_rejects_tokens_it_cannot_represent(tokens, message):
    with pytest.raises(ValueError, match=message):
        Vocabulary(tokens)


def test_vocabulary_load_rejects_truncated_file(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("a\nb", encoding="utf-8")
    with pytest.raises(ValueError, match="one token per line"):
        Vocabulary.load(path)


# --------------------------------------------------------------------------- loaders


def test_load_ptb_style_appends_eos_per_line_and_maps_oov(tmp_path):
    data_dir = _write_splits(tmp_path / "ptb", text.PTB_FILES, {
        "train": " the cat sat \n the <unk> ran \n\n",
        "valid": " the dog sat \n",
        "test": " a cat",  # a last line without a newline still ends with <eos>
    })
    corpus = load_ptb_style(data_dir)
    assert corpus.name == "ptb"
    vocab = corpus.vocab
    # Counts: <eos> 3 (one for the blank line), the 2, then cat/ran/sat/<unk> once.
    assert vocab.tokens == ("<eos>", "the", "<unk>", "cat", "ran", "sat")
    assert vocab.decode(corpus.train) == "the cat sat <eos> the <unk> ran <eos> <eos>".split()
    assert vocab.decode(corpus.valid) == "the <unk> sat <eos>".split()
    assert vocab.decode(corpus.test) == "<unk> cat <eos>".split()
    assert corpus.oov_counts == {"train": 0, "valid": 1, "test": 1}
    assert corpus.floor_perplexity is None and corpus.token_log_probs is None
    assert corpus.train.dtype == np.int32


def test_load_ptb_style_without_unk_fails_on_oov_naming_the_split(tmp_path):
    data_dir = _write_splits(tmp_path, text.PTB_FILES, {
        "train": "a b\n", "valid": "a b\n", "test": "a q r q\n"})
    with pytest.raises(ValueError, match=r"test split has 3 tokens.*\['q', 'r'\]"):
        load_ptb_style(data_dir)


def test_load_ptb_style_lists_missing_files(tmp_path):
    data_dir = _write_splits(tmp_path, text.PTB_FILES, {"train": "a\n"})
    with pytest.raises(FileNotFoundError,
                       match=r"`data_dir`=.*lacks split files \['ptb.valid.txt', 'ptb.test.txt'\]"):
        load_ptb_style(data_dir)
    with pytest.raises(FileNotFoundError, match=r"`data_dir`=.*nowhere.*existing directory"):
        load_ptb_style(tmp_path / "nowhere")


def test_empty_split_is_an_error_naming_it(tmp_path):
    data_dir = _write_splits(tmp_path, text.WIKITEXT_FILES, {
        "train": "a b\n", "valid": "\n \n", "test": "a\n"})
    with pytest.raises(ValueError, match=r"valid split of data_dir=.* is empty"):
        load_wikitext_style(data_dir)


def test_load_wikitext_style_skips_blank_lines(tmp_path):
    data_dir = _write_splits(tmp_path, text.WIKITEXT_FILES, {
        "train": " \n = Title = \n \n word , word <unk> \n",
        "valid": " \n word \n",
        "test": "other\r\n\r\nword\r\n",  # Windows line ends read as newlines
    })
    corpus = load_wikitext_style(data_dir)
    assert corpus.name == "wikitext"
    assert corpus.vocab.decode(corpus.train) == "= Title = <eos> word , word <unk> <eos>".split()
    assert corpus.vocab.decode(corpus.valid) == "word <eos>".split()
    assert corpus.vocab.decode(corpus.test) == "<unk> <eos> word <eos>".split()
    assert corpus.oov_counts["test"] == 1


def test_load_text_file_word_level_splits_90_5_5_by_position(tmp_path):
    words = [f"w{i % 7}" for i in range(190)]
    lines = [" ".join(words[i:i + 19]) for i in range(0, 190, 19)]  # 10 lines -> 200 tokens
    path = tmp_path / "book.txt"
    path.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    corpus = load_text_file(path, level="word")
    expected_stream = []
    for line in lines:
        expected_stream += line.split() + ["<eos>"]
    assert len(expected_stream) == 200
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (180, 10, 10)
    decoded = corpus.vocab.decode(np.concatenate([corpus.train, corpus.valid, corpus.test]))
    assert decoded == expected_stream
    assert "<unk>" in corpus.vocab  # added for raw text, unseen in train, so last
    assert corpus.vocab.tokens[-1] == "<unk>"
    assert corpus.name == "text:book.txt:word"


def test_load_text_file_char_level_maps_newline_to_eos_and_unknown_chars_to_unk(tmp_path):
    content = "ab a\nba b\n" * 9 + "zz\n"  # 93 characters; "z" only after the train part
    path = tmp_path / "chars.txt"
    path.write_text(content, encoding="utf-8")
    corpus = load_text_file(path, level="char")
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (83, 4, 6)
    all_ids = np.concatenate([corpus.train, corpus.valid, corpus.test])
    expected = ["<eos>" if c == "\n" else c for c in content]
    expected = [t if t in set(expected[:83]) else "<unk>" for t in expected]
    assert corpus.vocab.decode(all_ids) == expected
    assert corpus.oov_counts == {"train": 0, "valid": 0, "test": 2}
    assert set(corpus.vocab.tokens) == {"a", "b", " ", "<eos>", "<unk>"}


def test_load_text_file_errors(tmp_path):
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("one two three\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"`text_file`=.*tiny.txt.* has 4 word tokens, too few"):
        load_text_file(tiny)
    with pytest.raises(ValueError,
                       match=r"`level`, expected one of \('word', 'char'\), got 'byte'"):
        load_text_file(tiny, level="byte")
    with pytest.raises(FileNotFoundError, match=r"`text_file`=.*missing.txt"):
        load_text_file(tmp_path / "missing.txt")


def test_load_corpus_detects_the_format(tmp_path):
    ptb_dir = _write_splits(tmp_path / "p", text.PTB_FILES,
                            {"train": "a b\n", "valid": "a\n", "test": "b\n"})
    wiki_dir = _write_splits(tmp_path / "w", text.WIKITEXT_FILES,
                             {"train": "a b\n\n", "valid": "a\n", "test": "b\n"})
    text_file = tmp_path / "t.txt"
    text_file.write_text("x y\n" * 20, encoding="utf-8")
    assert load_corpus(data_dir=ptb_dir).name == "ptb"
    assert len(load_corpus(data_dir=ptb_dir).train) == 3
    assert load_corpus(data_dir=wiki_dir).name == "wikitext"
    assert load_corpus(text_file=text_file).name == "text:t.txt:word"
    assert load_corpus(text_file=text_file, level="char").name == "text:t.txt:char"


def test_wikitext_in_the_train_valid_test_txt_layout_is_recognised(tmp_path):
    """PyTorch's word_language_model layout: train.txt, valid.txt, test.txt."""
    contents = {"train": " \n = Title = \n \n word , word <unk> \n", "valid": " \n word \n",
                "test": "other\n\nword\n"}
    data_dir = _write_splits(tmp_path / "wikitext-2", text.WIKITEXT_TXT_FILES, contents)
    assert sorted(p.name for p in data_dir.iterdir()) == ["test.txt", "train.txt", "valid.txt"]
    official = _write_splits(tmp_path / "official", text.WIKITEXT_FILES, contents)
    for corpus in (load_corpus(data_dir=data_dir), load_wikitext_style(data_dir)):
        assert corpus.name == "wikitext"
        # Read exactly as the wiki.*.tokens files of the same text.
        assert corpus.vocab == load_wikitext_style(official).vocab
        assert corpus.vocab.decode(corpus.train) == (
            "= Title = <eos> word , word <unk> <eos>".split())
        assert corpus.vocab.decode(corpus.test) == "<unk> <eos> word <eos>".split()
    (data_dir / "test.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"lacks split files \['test.txt'\]"):
        load_corpus(data_dir=data_dir)


def _latin1_file(path, text_content):
    path.write_bytes(text_content.encode("latin-1"))
    return path


def test_encoding_errors_name_the_argument_the_file_the_offset_and_the_fix(tmp_path):
    content = "the café is open\n" * 3 + "a b c\n" * 20
    book = _latin1_file(tmp_path / "book.txt", content)
    offset = len("the caf")
    for level in ("word", "char"):
        with pytest.raises(ValueError) as error:
            load_corpus(text_file=book, level=level)
        message = str(error.value)
        assert message.startswith(f"encoding: cannot decode text_file={str(book)!r} as 'utf-8'")
        assert f"byte 0xe9 at byte offset {offset} (line 1)" in message
        assert "encoding='latin-1' (flag --encoding=latin-1)" in message
        corpus = load_corpus(text_file=book, level=level, encoding="latin-1")
        assert ("café" if level == "word" else "é") in corpus.vocab
    # A split file of a data_dir: the second line's é.
    data_dir = _write_splits(tmp_path / "ptb", text.PTB_FILES,
                             {"train": "a b <unk>\n", "valid": "a\n", "test": "b\n"})
    _latin1_file(data_dir / "ptb.valid.txt", "a\nb é\n")
    with pytest.raises(ValueError, match=r"encoding: cannot decode data_dir=.*ptb.valid.txt.*"
                                         r"byte offset 4 \(line 2\)"):
        load_corpus(data_dir=data_dir)
    assert load_corpus(data_dir=data_dir, encoding="latin-1").oov_counts["valid"] == 1
    with pytest.raises(ValueError, match=r"encoding: expected the name of a text encoding.*"
                                         r"got 'latin-9000'"):
        load_corpus(text_file=book, encoding="latin-9000")


def test_binary_file_given_as_text_is_refused_as_such(tmp_path):
    model = tmp_path / "weights.h5"
    model.write_bytes(b"\x89HDF\r\n\x1a\n\x00\x00\x00\x00" + bytes(range(256)) * 4)
    for encoding in ("utf-8", "latin-1"):  # latin-1 decodes any byte: the NULs decide
        with pytest.raises(ValueError, match=r"text_file: expected a text file, got "
                                             r".*weights.h5.*looks binary \(a NUL byte at byte "
                                             r"offset 8"):
            load_text_file(model, level="char", encoding=encoding)
    # UTF-16 text has NUL bytes and is text.
    utf16 = tmp_path / "utf16.txt"
    utf16.write_text("x y\n" * 30, encoding="utf-16")
    assert set(load_text_file(utf16, encoding="utf-16").vocab.tokens) == {"x", "y", "<eos>",
                                                                          "<unk>"}


def test_detokenize_renders_eos_as_a_line_break_at_char_level():
    sample = ["d", "o", " ", "t", "h", "y", "<eos>", "c", "a", "m", "b", "<unk>"]
    assert text.detokenize(sample, "char") == "do thy\ncamb<unk>"
    # Word level: spaces between words, <eos> literal (see the docstring).
    assert text.detokenize(["the", "cat", "<eos>", "a"], "word") == "the cat <eos> a"
    assert text.detokenize([], "char") == "" and text.detokenize([], "word") == ""
    # The inverse of the char-level loader: text -> tokens -> the same text.
    content = "Ab, é!\n\n  x\ty\n" * 5
    tokens = ["<eos>" if c == "\n" else c for c in content]
    assert text.detokenize(tokens, "char") == content
    with pytest.raises(ValueError, match=r"`level`, expected one of .* got 'byte'"):
        text.detokenize(["a"], "byte")
    with pytest.raises(ValueError, match=r"non-string items \(e.g. 3\).*Vocabulary.decode"):
        text.detokenize(["a", 3], "word")


def test_load_corpus_without_data_is_the_grammar_corpus_with_its_floor():
    corpus = load_corpus()
    generated = grammar.generate_corpus()
    assert corpus.name == "grammar(seed=0)"
    assert set(corpus.vocab.tokens) == set(grammar.VOCABULARY)
    assert "<unk>" not in corpus.vocab
    assert corpus.vocab.decode(corpus.valid) == generated.valid
    assert corpus.oov_counts == {"train": 0, "valid": 0, "test": 0}
    for split in text.SPLITS:
        assert corpus.floor_perplexity[split] == pytest.approx(generated.floor_perplexity(split))
        assert len(corpus.token_log_probs[split]) == len(corpus.split(split))


def test_grammar_corpus_vocabulary_holds_tokens_missing_from_a_tiny_train_split():
    corpus = text.corpus_from_grammar(grammar.generate_corpus(30, 300, 300, seed=1))
    assert len(corpus.vocab) == len(grammar.VOCABULARY)
    assert len(set(corpus.train.tolist())) < len(grammar.VOCABULARY)
    assert corpus.oov_counts == {"train": 0, "valid": 0, "test": 0}


def test_load_corpus_argument_errors(tmp_path):
    with pytest.raises(ValueError, match=r"both `data_dir`=.* and `text_file`=.*at most one"):
        load_corpus(data_dir=tmp_path, text_file=tmp_path / "x.txt")
    with pytest.raises(ValueError, match=r"`level`, expected one of .* got 'words'"):
        load_corpus(level="words")
    with pytest.raises(ValueError, match=r"`level`='char' with data_dir"):
        load_corpus(data_dir=tmp_path, level="char")
    with pytest.raises(ValueError, match=r"`level`='char' with the built-in grammar corpus"):
        load_corpus(level="char")
    with pytest.raises(FileNotFoundError,
                       match=r"neither PTB-style files \['ptb.train.txt'.*WikiText-style"):
        load_corpus(data_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match=r"`data_dir`=.*nowhere.*existing directory"):
        load_corpus(data_dir=tmp_path / "nowhere")
    small = text.corpus_from_grammar(grammar.generate_corpus(100, 100, 100))
    with pytest.raises(ValueError, match=r"`name`, expected one of .* got 'dev'"):
        small.split("dev")


@pytest.mark.skipif(not SHARED_PTB.is_dir(), reason="Penn Treebank files not in ../shared")
def test_real_penn_treebank_counts():
    corpus = load_corpus(data_dir=SHARED_PTB)
    assert corpus.name == "ptb"
    assert len(corpus.vocab) == 10_000 and "<unk>" in corpus.vocab and "<eos>" in corpus.vocab
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (929_589, 73_760, 82_430)
    assert corpus.oov_counts == {"train": 0, "valid": 0, "test": 0}


# --------------------------------------------------------------------------- batching


def test_batchify_cuts_contiguous_rows_and_drops_the_tail():
    stream = np.arange(13)
    data = batchify(stream, 2)
    np.testing.assert_array_equal(data, [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]])
    assert batchify(np.arange(12.0), 3).shape == (3, 4)


@pytest.mark.parametrize("stream, batch_size, message", [
    (np.arange(10), 0, r"`batch_size`, expected a positive integer, got 0"),
    (np.arange(10), 2.0, r"`batch_size`, expected a positive integer, got 2.0"),
    (np.arange(10), 6, r"`batch_size`=6 for a stream of 10 tokens.*batch_size <= 5"),
    (np.zeros((2, 5)), 1, r"shape \(2, 5\), expected a 1-D array"),
])
def test_batchify_errors(stream, batch_size, message):
    with pytest.raises(ValueError, match=message):
        batchify(stream, batch_size)


def test_iterate_bptt_windows_are_shifted_by_one_and_contiguous():
    data = batchify(np.arange(2 * 23), 2)  # rows of 23 tokens: 22 (input, target) pairs
    windows = list(iterate_bptt(data, num_steps=5))
    assert len(windows) == num_windows(data, 5) == 4
    for x, y in windows:
        assert x.shape == y.shape == (2, 5)
        np.testing.assert_array_equal(y, x + 1)  # the stream is 0, 1, 2, ...
    # Rows continue across windows: stitched back, each row is its stream prefix.
    inputs = np.concatenate([x for x, _ in windows], axis=1)
    np.testing.assert_array_equal(inputs, data[:, :20])


def test_iterate_bptt_without_drop_remainder_predicts_every_target_once():
    data = batchify(np.arange(2 * 23), 2)
    windows = list(iterate_bptt(data, num_steps=5, drop_remainder=False))
    assert len(windows) == num_windows(data, 5, drop_remainder=False) == 5
    assert windows[-1][0].shape == (2, 2)
    targets = np.concatenate([y for _, y in windows], axis=1)
    np.testing.assert_array_equal(targets, data[:, 1:])
    exact = batchify(np.arange(2 * 21), 2)  # 20 pairs: no shorter last window
    assert num_windows(exact, 5, drop_remainder=False) == num_windows(exact, 5) == 4


def test_iterate_bptt_matches_ptb_producer_on_real_ids():
    corpus = text.corpus_from_grammar(grammar.generate_corpus(5_000, 100, 100))
    data = batchify(corpus.train, 20)
    x, y = next(iter(iterate_bptt(data, 35)))
    row_length = len(corpus.train) // 20
    np.testing.assert_array_equal(x[3], corpus.train[3 * row_length:3 * row_length + 35])
    np.testing.assert_array_equal(y[3], corpus.train[3 * row_length + 1:3 * row_length + 36])


def test_num_steps_longer_than_the_stream_is_a_clear_error():
    data = batchify(np.arange(40), 4)  # rows of 10 tokens: 9 pairs
    with pytest.raises(ValueError, match=r"`num_steps`=10, but each of the 4 streams has only "
                                         r"10 tokens \(9 input/target pairs\).*num_steps <= 9"):
        list(iterate_bptt(data, 10))
    with pytest.raises(ValueError, match=r"`num_steps`, expected a positive integer, got 0"):
        num_windows(data, 0)
    with pytest.raises(ValueError, match=r"shape \(40,\), expected \[batch, n\]"):
        num_windows(np.arange(40), 5)
    assert num_windows(data, 9) == 1


def test_docstring_examples():
    result = doctest.testmod(text)
    assert result.attempted > 0 and result.failed == 0
