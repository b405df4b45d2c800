"""Tests of the grammar corpus: its log-probabilities are exact, so its floor is too."""
import collections
import doctest
import math

import numpy as np
import pytest

from seqkit.data import grammar


@pytest.fixture(scope="module")
def default_corpus():
    return grammar.generate_corpus()


@pytest.fixture(scope="module")
def small_corpus():
    return grammar.generate_corpus(num_tokens_train=20_000, num_tokens_valid=5_000,
                                   num_tokens_test=5_000, seed=3)


def _sentences(tokens):
    sentence = []
    for token in tokens:
        sentence.append(token)
        if token == grammar.EOS:
            yield sentence
            sentence = []
    assert not sentence, "stream does not end at a sentence end"


def test_default_corpus_meets_the_size_budget(default_corpus):
    for split, minimum in grammar.DEFAULT_NUM_TOKENS.items():
        tokens = default_corpus.tokens[split]
        # Whole sentences: at least the requested size, overshooting by < one sentence.
        assert minimum <= len(tokens) < minimum + 60
        assert tokens[-1] == grammar.EOS
        assert len(default_corpus.log_probs[split]) == len(tokens)
    assert set(default_corpus.train) == set(grammar.VOCABULARY)
    assert len(grammar.VOCABULARY) == 64
    for split in grammar.SPLITS:
        floor = default_corpus.floor_perplexity(split)
        assert 3.0 < floor < 8.0
        # Context helps a lot: the floor is far below the best unigram model of the same text.
        assert floor < 0.5 * grammar.unigram_perplexity(default_corpus.tokens[split])


def test_recorded_log_probs_equal_the_independent_parser(small_corpus):
    for split in grammar.SPLITS:
        rescored = grammar.score_tokens(small_corpus.tokens[split])
        np.testing.assert_allclose(rescored, small_corpus.log_probs[split], rtol=0, atol=1e-10)


def test_every_reachable_parser_state_is_deterministic_and_normalized():
    """Walks the whole (finite) state space: at every state the next-token
    probabilities sum to 1, and _predict's LL(1) assertion holds (each next token is
    reached by exactly one choice path, so the state after it is unique)."""
    start = ()
    seen = {start}
    frontier = [start]
    while frontier:
        state = frontier.pop()
        prediction = grammar._predict(state)
        assert set(prediction) <= set(grammar.VOCABULARY)
        assert math.isclose(sum(p for p, _ in prediction.values()), 1.0, abs_tol=1e-12)
        assert all(p > 0 for p, _ in prediction.values())
        for _, next_state in prediction.values():
            if next_state not in seen:
                seen.add(next_state)
                frontier.append(next_state)
    assert 100 < len(seen) < 100_000


def test_next_token_probabilities_at_sampled_positions(small_corpus):
    tokens = small_corpus.valid
    parser = grammar.GrammarParser()
    rng = np.random.default_rng(0)
    check_at = set(rng.choice(len(tokens), size=300, replace=False).tolist())
    for position, token in enumerate(tokens):
        if position in check_at:
            probabilities = parser.next_token_probabilities()
            assert math.isclose(sum(probabilities.values()), 1.0, abs_tol=1e-12)
            assert math.isclose(math.log(probabilities[token]),
                                small_corpus.log_probs["valid"][position], abs_tol=1e-12)
        parser.consume(token)
    assert parser.at_sentence_start


def test_sampler_draws_from_the_parser_distribution():
    """Calibration: positions are grouped by (candidate token, its predicted
    probability); in each group the candidate's observed count must match the sum
    of its probabilities (count minus expectation is a martingale with variance
    sum p(1 - p)). A sampler that drew with other probabilities than it records,
    or a parser that disagreed with it in any context, fails this."""
    tokens, _, _ = grammar.generate_split(40_000, seed=11, split="valid")
    expected, variance, observed = (collections.Counter() for _ in range(3))
    parser = grammar.GrammarParser()
    for token in tokens:
        for candidate, p in parser.next_token_probabilities().items():
            group = (candidate, round(p, 9))
            expected[group] += p
            variance[group] += p * (1 - p)
            observed[group] += candidate == token
        parser.consume(token)
    assert len(expected) > 200
    for group in expected:
        deviation = observed[group] - expected[group]
        if variance[group] < 1e-9:  # certain tokens: must occur every time
            assert abs(deviation) < 1e-6, group
        else:
            assert abs(deviation) / math.sqrt(variance[group]) < 5, (group, observed[group])


def test_hand_computed_log_probs():
    g = grammar
    no_adjective = 1 - g.P_ADJECTIVE
    unmodified = [1 - g.P_THAT[d] - g.P_PREPOSITION[d] - g.P_PAREN[d] for d in range(4)]
    intransitive_top = 1 - g.P_TRANSITIVE - g.P_SAY[0]
    sentence = "the dog sleeps . <eos>".split()
    expected = [
        math.log(0.40),                                   # "the"
        math.log(no_adjective / 18),                      # no adjective; 1 of 18 nouns
        math.log(unmodified[0] * intransitive_top / 4),   # no modifier; 1 of 4 verbs
        0.0, 0.0,                                         # "." and "<eos>" are certain
    ]
    np.testing.assert_allclose(g.score_tokens(sentence), expected, atol=1e-12)

    # Object relative: "cats" fixes the relative verb's number (pl), "dog" the main one (sg).
    sentence = "a dog that the cats chase sleeps . <eos>".split()
    expected = [
        math.log(0.20),                                   # "a"
        math.log(no_adjective / 9),                       # 1 of 9 singular nouns
        math.log(g.P_THAT[0]),                            # relative clause
        math.log((1 - g.P_SUBJECT_RELATIVE) * 0.40),      # object relative; "the"
        math.log(no_adjective / 18),
        math.log(unmodified[1] / 5),                      # 1 of 5 plural transitive verbs
        math.log(intransitive_top / 4),                   # back in the main clause
        0.0, 0.0,
    ]
    np.testing.assert_allclose(g.score_tokens(sentence), expected, atol=1e-12)

    # The reflexive is certain once chosen: the main subject "king" fixes it across
    # the relative clause and the attractors "girls" and "dogs".
    sentence = "the king that the girls near a dog like sees himself . <eos>".split()
    expected = [
        math.log(0.40), math.log(no_adjective / 18), math.log(g.P_THAT[0]),
        math.log((1 - g.P_SUBJECT_RELATIVE) * 0.40), math.log(no_adjective / 18),
        math.log(g.P_PREPOSITION[1] / 2),                 # "near" (1 of 2), depth 1
        math.log(0.20), math.log(no_adjective / 9),
        math.log(unmodified[2] / 5),                      # "dog" ends ("girls" has its PP)
        math.log(g.P_TRANSITIVE / 5),                     # 1 of 5 singular transitive verbs
        math.log(g.P_REFLEXIVE),                          # reflexive object: only "himself"
        0.0, 0.0,
    ]
    np.testing.assert_allclose(g.score_tokens(sentence), expected, atol=1e-12)


@pytest.mark.parametrize("stream, bad_position", [
    ("the dogs sleeps . <eos>", 2),                             # agreement
    ("a dog that the cats chases sleeps . <eos>", 5),           # agreement in a relative
    ("the king that the girls like sees herself . <eos>", 7),   # reflexive gender
    ("the kings that a girl likes see himself . <eos>", 7),     # reflexive number
    ("a dog ( some cats '' sleeps . <eos>", 5),                 # wrong closing bracket
    ("a dog says `` some cats sleep ) . <eos>", 7),             # wrong closing quote
    ("a dog says `` some cats sleep . <eos>", 7),               # quote left open
])
def test_parser_rejects_ungrammatical_text(stream, bad_position):
    with pytest.raises(ValueError, match=f"position {bad_position} .*expected one of"):
        grammar.score_tokens(stream.split())


def test_dependencies_agree_and_reach_far(default_corpus):
    tokens = default_corpus.train
    pairs = default_corpus.dependencies["train"]
    closers = {"(": ")", "``": "''"}
    kinds = collections.Counter()
    for earlier, later in pairs.tolist():
        assert earlier < later
        if tokens[earlier] in closers:
            assert tokens[later] == closers[tokens[earlier]]
            kinds["bracket"] += 1
        elif tokens[later] in grammar.VERB_NUMBER:  # subject noun -> its verb: same number
            subject = grammar.NOUN_FEATURES[tokens[earlier]]
            assert subject.number == grammar.VERB_NUMBER[tokens[later]]
            kinds["verb"] += 1
        else:  # subject noun -> reflexive object: same number and gender
            assert tokens[later] == grammar.REFLEXIVES[grammar.NOUN_FEATURES[tokens[earlier]]]
            kinds["reflexive"] += 1
    # Every verb, reflexive and closing bracket has exactly one controller.
    assert kinds["verb"] == sum(token in grammar.VERB_NUMBER for token in tokens)
    assert kinds["reflexive"] == sum(token in set(grammar.REFLEXIVES.values()) for token in tokens)
    assert kinds["bracket"] == tokens.count("(") + tokens.count("``")
    distances = pairs[:, 1] - pairs[:, 0]
    assert distances.max() >= 20
    assert np.mean(distances >= 5) > 0.15


def test_generation_is_deterministic_and_splits_are_independent():
    first = grammar.generate_corpus(2_000, 500, 500, seed=5)
    again = grammar.generate_corpus(2_000, 500, 500, seed=5)
    bigger_train = grammar.generate_corpus(4_000, 500, 500, seed=5)
    other_seed = grammar.generate_corpus(2_000, 500, 500, seed=6)
    assert first.train == again.train and first.valid == again.valid
    np.testing.assert_array_equal(first.log_probs["test"], again.log_probs["test"])
    assert bigger_train.valid == first.valid and bigger_train.test == first.test
    assert bigger_train.train[:100] == first.train[:100]
    assert other_seed.train != first.train
    assert first.valid != first.test


@pytest.mark.parametrize("kwargs, argument", [
    ({"num_tokens_train": 0}, "num_tokens_train"),
    ({"num_tokens_valid": 2.5}, "num_tokens_valid"),
    ({"num_tokens_test": -1}, "num_tokens_test"),
    ({"seed": -1}, "seed"),
])
def test_invalid_arguments_are_named(kwargs, argument):
    with pytest.raises(ValueError, match=f"`{argument}`.*got"):
        grammar.generate_corpus(**kwargs)


def test_floor_perplexity_rejects_unknown_split(small_corpus):
    with pytest.raises(ValueError, match="`split`.*'dev'"):
        small_corpus.floor_perplexity("dev")


def test_unigram_perplexity():
    assert grammar.unigram_perplexity(["a", "b"]) == pytest.approx(2.0)
    assert grammar.unigram_perplexity(["a", "a", "a"]) == pytest.approx(1.0)
    assert grammar.unigram_perplexity(list("aabc")) == pytest.approx(math.exp(1.5 * math.log(2)))


def test_docstring_examples():
    result = doctest.testmod(grammar)
    assert result.attempted > 0 and result.failed == 0
