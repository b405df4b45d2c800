"""seqkit.data.tokenize: NLTK agreement, the in-graph tokenizer, vocabularies, padding."""
import doctest
import random

import numpy as np
import pytest
import tensorflow as tf
from nltk.tokenize.destructive import NLTKWordTokenizer

from seqkit.data import tokenize
from seqkit.data.tokenize import (
    build_vocabulary,
    char_tokenize,
    decode,
    encode_batch,
    normalize,
    pad_batch,
    tf_word_tokenize,
    vocabulary_hash,
    word_tokenize,
)
from seqkit.data.text import Vocabulary

SENTENCES = [
    "What time is it?",
    "what time is it",
    "They'll say \"don't\" (2.5%).",
    "Good muffins cost $3.88 (roughly 3,36 euros) in New York.  Please buy me two of them.",
    "I cannot believe it's not butter!",
    "Gimme a break, gonna do it, wanna go? gotta run, lemme see.",
    "'Tis the season; 'twas the night before Christmas.",
    "He said, 'hello there' and left...",
    "The 'quoted' words and 'rest of it' here.",
    "She's, he'd, we've, you're, I'm, they'll, isn't, CAN'T, WON'T.",
    "Rock 'n' roll is 'nuff said 'em all.",
    "Email me at john@example.com or call #123 & ask for 50% off; ok?",
    "Prices: $5, €10, £20 -- all 'approximate'.",
    "“Smart quotes” and ‘single smart’ «guillemets» „low“.",
    "Range 1990–2000 and a dash—like this ― or this ‒ one.",
    "Wait... what?! No!!",
    "Mr. Smith went to Washington D.C. on Jan. 5th.",
    "Use `backticks` and ``double backticks'' please.",
    "Parens (like this) [and this] {and <this>}.",
    "A*B*C and x**2.",
    "Numbers 1,000,000 and 3.14159 and 1:30 pm and 12:00.",
    "Colon: at end, comma, and a last one,",
    "Trailing colon:",
    "Ends with quote.\"",
    "Ends with paren.)",
    "He said \"stop.\"",
    "Ünïcödé wörds like naïve café and Zürich's Straße.",
    "日本語のテキストです。",
    "Привет, мир! Как дела?",
    "  stray   spaces   everywhere  ",
    "tabs\tand\nnewlines\r\nmixed",
    "no-break\u00a0space and narrow\u202fno-break",
    "",
    "   ",
    ".",
    "'",
    "''",
    "\"",
    "'hello",
    "'s",
    "it's",
    "o'clock and rock'n'roll and y'all",
    "don't stop won't stop can't stop",
    "CANNOT Cannot cannot cannot",
    "d'ye know more'n you",
    "I'D, YOU'LL, THEY'RE, WE'VE, I'M, HE'S",
    "students' books and the boss' office' s",
    "end with apostrophe'",
    "a,b c,d 1,2 a, b",
    "a;b@c#d$e%f&g",
    "what's the weather like in new york city tomorrow",
    "book a flight from boston to denver, not to dallas",
    "I want to go to Paris, not London but Berlin.",
    "play 'Bohemian Rhapsody' by Queen",
    "x... y.. z.",
    "U.S.A. is big.",
    "3.5.",
    "Hmm?!?",
    "(a) b) c)",
    "<tag> and </tag>",
    "--double-dash--here",
    "a'b'c 'd' e'",
    "hello ''world'' there",
    "\"quoted start and end\"",
    "x \"y\" z (\"w\") ['v']",
    "'re 'VE 'Ll 'm 't 'S 'd 'n",
    "'red 'very 'lly",
    "I'm... I'll... can't.",
    "ＦＵＬＬＷＩＤＴＨ text and ｶﾀｶﾅ",
    "emoji 😀 test 👍🏽!",
    "½ ² ٣ numbers",
    "under_score and snake_case_words",
    "Ἀθῆναι and ΣΑΣ",
    "İstanbul DİYARBAKIR",
    "wanna",
    "gonna.",
    "'tis",
    " 'twas ",
    "more'n",
    "cannot,cannot",
    "can not",
    "one's own' thing",
    "He'll've",
]
SENTENCES += ["a\t\"b\"", "x\u00a0''y", "\t''not<", "cannot\tcannot\ncannot"]

# Pieces that stress every rule (quotes, clitics, contractions, punctuation, whitespace).
PIECES = ("a b Z é ß 日 1 9 ٣ _ . , : ; ' '' \" ` ( ) [ ] { } < > ? ! - -- — * $ % & @ # "
          "« » “ ” ‘ ’ „ ... can not cannot n't 's 'll 're 've 'm 'd 't is was wan na "
          "gon got "
          "ta gim me lem more 'n d 'ye ST RE LL").split() + [" ", "  ", "\t", "\n", "\u00a0"]


def _fuzz(count, seed=0):
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 12)))
            for _ in range(count)]


def _tf_tokens(strings, lowercase=False):
    return [[token.decode("utf-8") for token in row]
            for row in tf_word_tokenize(strings, lowercase=lowercase).to_list()]


def test_doctests():
    assert doctest.testmod(tokenize).failed == 0


def test_word_tokenize_matches_nltk():
    nltk_tokenizer = NLTKWordTokenizer()
    strings = SENTENCES + _fuzz(2000)
    disagree = [s for s in strings if word_tokenize(s) != nltk_tokenizer.tokenize(s)]
    assert disagree == []


def test_known_splits():
    assert word_tokenize("What time is it?") == ["What", "time", "is", "it", "?"]
    assert word_tokenize("They'll say \"don't\" (2.5%).") == [
        "They", "'ll", "say", "``", "do", "n't", "''", "(", "2.5", "%", ")", "."]
    assert word_tokenize("I cannot go, 'tis 1,000 miles...") == [
        "I", "can", "not", "go", ",", "'", "tis", "1,000", "miles", "..."]
    assert word_tokenize("'hello' 're", lowercase=True) == ["'", "hello", "'", "'re"]
    assert word_tokenize("  ") == [] and word_tokenize("") == []
    with pytest.raises(TypeError, match="`text`"):
        word_tokenize(b"bytes")


@pytest.mark.parametrize("lowercase", [False, True])
def test_tf_word_tokenize_equals_python(lowercase):
    strings = SENTENCES + _fuzz(1000, seed=1)
    expected = [word_tokenize(s, lowercase=lowercase) for s in strings]
    assert _tf_tokens(strings, lowercase) == expected


def test_tf_word_tokenize_in_a_graph():
    function = tf.function(lambda s: tf_word_tokenize(s, lowercase=True),
                           input_signature=[tf.TensorSpec([None], tf.string)])
    tokens = function(tf.constant(["Don't STOP!", ""]))
    assert tokens.to_list() == [[b"do", b"n't", b"stop", b"!"], []]


def test_whitespace_class_is_str_isspace():
    import regex
    pattern = regex.compile(tokenize._WHITESPACE)
    expected = {c for c in range(0x110000) if chr(c).isspace()} | {0xE000}
    assert {c for c in range(0x3100) if pattern.match(chr(c))} | (
        {c for c in expected if c >= 0x3100}) == expected
    assert all(pattern.match(chr(c)) for c in expected)


def test_char_tokenize_and_normalize():
    assert char_tokenize("  Hi \t there ") == list("Hi there")
    assert char_tokenize("AbÇ", lowercase=True) == ["a", "b", "ç"]
    assert normalize("Cafe\u0301\u00a0au\u202f lait  ") == "Caf\u00e9 au lait"
    assert normalize("\n\t ") == ""


def test_build_vocabulary():
    lists = [["b", "a", "b"], ["c", "a", "b"], ["d"]]
    vocab = build_vocabulary(lists)
    assert isinstance(vocab, Vocabulary)
    assert vocab.tokens == ("<pad>", "<unk>", "b", "a", "c", "d")
    assert build_vocabulary(lists, min_count=2).tokens == ("<pad>", "<unk>", "b", "a")
    assert build_vocabulary(lists, max_size=3).tokens == ("<pad>", "<unk>", "b")
    ids = encode_batch(vocab, [["a", "zzz"], []])
    assert ids[0].tolist() == [3, 1] and ids[1].tolist() == []
    assert decode(vocab, [3, 1, 0, 0]) == ["a", "<unk>"]
    with pytest.raises(ValueError, match="`min_count`"):
        build_vocabulary(lists, min_count=0)
    with pytest.raises(ValueError, match="`max_size`"):
        build_vocabulary(lists, max_size=2)


def test_vocabulary_hash_and_save_load(tmp_path):
    vocab = build_vocabulary([["x", "y", "y"]])
    vocab.save(tmp_path / "vocab.txt")
    loaded = Vocabulary.load(tmp_path / "vocab.txt")
    assert loaded == vocab and vocabulary_hash(loaded) == vocabulary_hash(vocab)
    assert vocabulary_hash(build_vocabulary([["x", "x", "y"]])) != vocabulary_hash(vocab)
    # A fixed literal: the hash must not change between versions or runs.
    assert vocabulary_hash(Vocabulary(["<pad>", "<unk>"])) == (
        __import__("hashlib").sha256(b"<pad>\n<unk>").hexdigest())


def test_pad_batch():
    batch = pad_batch([[5, 6, 7], [8], []])
    assert batch.dtype == np.int32
    assert batch.tolist() == [[5, 6, 7], [8, 0, 0], [0, 0, 0]]
    assert pad_batch([[5, 6, 7], [8]], max_length=2).tolist() == [[5, 6], [8, 0]]
    assert pad_batch([]).shape == (0, 0)
    with pytest.raises(ValueError, match="`max_length`"):
        pad_batch([[1]], max_length=0)
