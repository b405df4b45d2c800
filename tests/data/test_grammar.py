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


# ---------------------------------------------------------------------------------
# The grammar table, written out here as literal numbers (the table in the module
# docstring and the README), NOT read from seqkit.data.grammar: the tests below
# compare the code against it, so changing any constant of the code fails them.
# ---------------------------------------------------------------------------------
DETERMINER_P = {"the": 0.40, "a": 0.20, "every": 0.10, "some": 0.15, "many": 0.15}
NOUNS_AFTER = {"the": 18, "a": 9, "every": 9, "some": 9, "many": 9}  # sg+pl, or one number
P_ADJECTIVE = 0.3                       # one more adjective (else: the noun)
NUM_ADJECTIVES, NUM_PREPOSITIONS = 6, 2
P_THAT = (0.30, 0.15, 0.08, 0.0)        # by depth 0..3; nothing embeds at depth 3
P_PREPOSITION = (0.15, 0.08, 0.04, 0.0)
P_PAREN = (0.05, 0.03, 0.02, 0.0)
P_SAY = (0.10, 0.05, 0.02, 0.0)
P_TRANSITIVE = 0.45
P_SUBJECT_RELATIVE = 0.4
P_REFLEXIVE = 0.35
NUM_INTRANSITIVE, NUM_TRANSITIVE, NUM_SPEECH = 4, 5, 2   # verbs of each number
# The expected floor these numbers imply, derived below (closed_form_expectations):
# E[-log p(sentence)] = 18.5606590 nats over E[tokens] = 10.1755293 tokens, so an
# entropy rate of 1.8240485 nats/token and a floor perplexity of exp(.) = 6.1968959.
FLOOR_ENTROPY_PER_SENTENCE = 18.5606590
TOKENS_PER_SENTENCE = 10.1755293
FLOOR_PERPLEXITY = 6.1968959


def test_grammar_constants_are_the_table():
    g = grammar
    assert {d: p for d, (p, _) in g.DETERMINERS.items()} == DETERMINER_P
    assert {d: n for d, (_, n) in g.DETERMINERS.items()} == {
        "the": None, "a": g.SINGULAR, "every": g.SINGULAR, "some": g.PLURAL, "many": g.PLURAL}
    assert (g.P_ADJECTIVE, g.P_TRANSITIVE, g.P_SUBJECT_RELATIVE, g.P_REFLEXIVE) == (
        P_ADJECTIVE, P_TRANSITIVE, P_SUBJECT_RELATIVE, P_REFLEXIVE)
    assert (g.P_THAT, g.P_PREPOSITION, g.P_PAREN, g.P_SAY) == (
        P_THAT, P_PREPOSITION, P_PAREN, P_SAY)
    assert (len(g.ADJECTIVES), len(g.PREPOSITIONS)) == (NUM_ADJECTIVES, NUM_PREPOSITIONS)
    assert (len(g.INTRANSITIVE_VERBS), len(g.TRANSITIVE_VERBS), len(g.SPEECH_VERBS)) == (
        NUM_INTRANSITIVE, NUM_TRANSITIVE, NUM_SPEECH)
    assert len(g.NOUN_FEATURES) == NOUNS_AFTER["the"] and g.MAX_DEPTH == 3


def test_hand_computed_log_probs():
    """Each token's probability multiplied out by hand from the table (literals)."""
    # "the dog sleeps . <eos>"
    #   the     .40
    #   dog     no adjective .7, 1 of 18 nouns              .7 / 18
    #   sleeps  no post-modifier at depth 0: 1 - .30 - .15 - .05 = .50;
    #           intransitive at depth 0: 1 - .45 - .10 = .45; 1 of 4 verbs
    #                                                        .50 * .45 / 4 = .05625
    sentence = "the dog sleeps . <eos>".split()
    expected = [math.log(0.40), math.log(0.7 / 18), math.log(0.05625), 0.0, 0.0]
    np.testing.assert_allclose(grammar.score_tokens(sentence), expected, atol=1e-12)

    # "a dog that the cats chase sleeps . <eos>": "cats" fixes the relative verb's
    # number (pl), "dog" the main one (sg).
    #   a       .20;  dog  .7 / 9 (a -> singular)
    #   that    relative clause at depth 0                   .30
    #   the     object relative .6 (1 - .4), then "the" .40  .24
    #   cats    .7 / 18
    #   chase   no post-modifier at depth 1: 1 - .15 - .08 - .03 = .74; 1 of 5  .148
    #   sleeps  intransitive at depth 0 .45, 1 of 4          .1125
    sentence = "a dog that the cats chase sleeps . <eos>".split()
    expected = [math.log(0.20), math.log(0.7 / 9), math.log(0.30), math.log(0.24),
                math.log(0.7 / 18), math.log(0.148), math.log(0.1125), 0.0, 0.0]
    np.testing.assert_allclose(grammar.score_tokens(sentence), expected, atol=1e-12)

    # The reflexive is certain once chosen: the main subject "king" fixes it across
    # the relative clause and the attractors "girls" and "dog".
    #   the .40; king .7/18; that .30; the .6*.40 = .24; girls .7/18
    #   near    prepositional at depth 1 .08, 1 of 2         .04
    #   a .20;  dog .7/9
    #   like    "dog" (depth 2) unmodified: 1 - .08 - .04 - .02 = .86; 1 of 5  .172
    #   sees    transitive .45, 1 of 5                       .09
    #   himself reflexive object                             .35
    sentence = "the king that the girls near a dog like sees himself . <eos>".split()
    expected = [math.log(0.40), math.log(0.7 / 18), math.log(0.30), math.log(0.24),
                math.log(0.7 / 18), math.log(0.04), math.log(0.20), math.log(0.7 / 9),
                math.log(0.172), math.log(0.09), math.log(0.35), 0.0, 0.0]
    np.testing.assert_allclose(grammar.score_tokens(sentence), expected, atol=1e-12)

    # A quote at depth 0, whose clause (depth 1) has a parenthesis (depth 2).
    #   some .15; men .7/9
    #   say     no modifier .50; speech at depth 0 .10, 1 of 2      .025
    #   ``      certain
    #   every .10; big .3/6 = .05; boy .7/9
    #   (       parenthesis at depth 1                       .03
    #   the .40; cat .7/18
    #   )       "cat" (depth 2) unmodified .86
    #   runs    intransitive at depth 1: 1 - .45 - .05 = .50, 1 of 4   .125
    #   ''      certain (the clause ends: "boy" has its modifier)
    sentence = "some men say `` every big boy ( the cat ) runs '' . <eos>".split()
    expected = [math.log(0.15), math.log(0.7 / 9), math.log(0.025), 0.0, math.log(0.10),
                math.log(0.05), math.log(0.7 / 9), math.log(0.03), math.log(0.40),
                math.log(0.7 / 18), math.log(0.86), math.log(0.125), 0.0, 0.0, 0.0]
    np.testing.assert_allclose(grammar.score_tokens(sentence), expected, atol=1e-12)


def _entropy(*probabilities):
    return -sum(p * math.log(p) for p in probabilities if p > 0)


def closed_form_expectations():
    """(E[-log p(sentence)], E[tokens per sentence]) from the table alone.

    The grammar is LL(1), so -log p(sentence) is the sum of -log p of the choices
    its derivation made, and its expectation the sum, over the choices a sentence
    reaches, of each choice's entropy (in nats). Each part contributes a pair
    (entropy, tokens), by depth d from 3 (no embedding) up to 0:

      DET      H(.40, .20, .10, .15, .15),                                  1 token
      ADJ*     k ~ Geometric: k adjectives take k + 1 yes/no choices:
               E[k] = .3/.7, entropy H(.3, .7)(1 + E[k]) + E[k] log 6,  E[k] tokens
      NOUN     .40 log 18 + .60 log 9 (1 of the nouns the determiner allows), 1 token
      POST_d   H(P_THAT, P_PREP, P_PAREN, rest) + P_THAT (1 token + RC_{d+1})
               + P_PREP (log 2 + 1 token + NP_{d+1}) + P_PAREN (2 tokens + NP_{d+1})
      NP_d     DET + ADJ* + NOUN + POST_d
      OBJECT_d H(.35, .65) + .35 (1 token) + .65 NP_d
      VP_d     H(i, .45, s) + 1 token + i log 4 + .45 (log 5 + OBJECT_d)
               + s (log 2 + 2 tokens + CLAUSE_{d+1}),  s = P_SAY[d], i = 1 - .45 - s
      RC_d     H(.4, .6) + .4 VP_d + .6 (NP_d + log 5 + 1 token)
      CLAUSE_d NP_d + VP_d;   SENTENCE = CLAUSE_0 + 2 tokens ("." "<eos>")

    A verb's number and a reflexive are fixed by the subject: no choice, no
    entropy, beyond the uniform choice among the verbs of that number.
    """
    def add(*parts):
        return (sum(p[0] for p in parts), sum(p[1] for p in parts))

    def mix(*weighted):
        return (sum(w * p[0] for w, p in weighted), sum(w * p[1] for w, p in weighted))

    determiner = (_entropy(*DETERMINER_P.values()), 1)
    more = P_ADJECTIVE / (1 - P_ADJECTIVE)
    adjectives = (_entropy(P_ADJECTIVE, 1 - P_ADJECTIVE) * (1 + more)
                  + more * math.log(NUM_ADJECTIVES), more)
    noun = (sum(p * math.log(NOUNS_AFTER[d]) for d, p in DETERMINER_P.items()), 1)
    np_, vp, rc, clause = {}, {}, {}, {}
    for d in range(3, -1, -1):
        rest = 1 - P_THAT[d] - P_PREPOSITION[d] - P_PAREN[d]
        post = (_entropy(P_THAT[d], P_PREPOSITION[d], P_PAREN[d], rest), 0)
        if d < 3:
            post = add(post, mix(
                (P_THAT[d], add((0, 1), rc[d + 1])),
                (P_PREPOSITION[d], add((math.log(NUM_PREPOSITIONS), 1), np_[d + 1])),
                (P_PAREN[d], add((0, 2), np_[d + 1]))))
        np_[d] = add(determiner, adjectives, noun, post)
        intransitive = 1 - P_TRANSITIVE - P_SAY[d]
        obj = add((_entropy(P_REFLEXIVE, 1 - P_REFLEXIVE), 0),
                  mix((P_REFLEXIVE, (0, 1)), (1 - P_REFLEXIVE, np_[d])))
        vp[d] = add((_entropy(intransitive, P_TRANSITIVE, P_SAY[d]), 1),
                    mix((intransitive, (math.log(NUM_INTRANSITIVE), 0)),
                        (P_TRANSITIVE, add((math.log(NUM_TRANSITIVE), 0), obj))))
        if d < 3:
            vp[d] = add(vp[d], mix((P_SAY[d], add((math.log(NUM_SPEECH), 2), clause[d + 1]))))
        rc[d] = add((_entropy(P_SUBJECT_RELATIVE, 1 - P_SUBJECT_RELATIVE), 0),
                    mix((P_SUBJECT_RELATIVE, vp[d]),
                        (1 - P_SUBJECT_RELATIVE, add(np_[d], (math.log(NUM_TRANSITIVE), 1)))))
        clause[d] = add(np_[d], vp[d])
    return add(clause[0], (0, 2))


def parser_expectations():
    """The same two expectations from the code: a first-step analysis over the
    parser's states (``grammar._predict``), from a sentence start to its end.

    v(state) = H(next token | state) + sum_t p(t) v(next state), and the same with
    1 in place of H for the length; the only cycle is an adjective's self-loop,
    solved in closed form (v = (H + sum over other tokens) / (1 - p_self)).
    """
    memo = {}

    def value(state):
        if state not in memo:
            prediction = grammar._predict(state)
            entropy = _entropy(*(p for p, _ in prediction.values()))
            stay, tokens = 0.0, 1.0
            for p, after in prediction.values():
                if after == ():        # "<eos>": the sentence is over
                    continue
                if after == state:     # one more adjective
                    stay += p
                    continue
                entropy_after, tokens_after = value(after)
                entropy, tokens = entropy + p * entropy_after, tokens + p * tokens_after
            memo[state] = (entropy / (1 - stay), tokens / (1 - stay))
        return memo[state]

    return value(())


def test_floor_from_the_table_equals_the_code_exactly():
    """The expected floor, derived from the literal table, equals the one the
    code's parser implies to 1e-9: any change of a probability, a word list or a
    rule of the code moves the latter (e.g. P_REFLEXIVE .35 -> .36 moves the
    entropy per sentence by 3e-3)."""
    entropy, tokens = closed_form_expectations()
    assert entropy == pytest.approx(FLOOR_ENTROPY_PER_SENTENCE, abs=1e-7)
    assert tokens == pytest.approx(TOKENS_PER_SENTENCE, abs=1e-7)
    assert math.exp(entropy / tokens) == pytest.approx(FLOOR_PERPLEXITY, abs=1e-7)
    code_entropy, code_tokens = parser_expectations()
    assert code_entropy == pytest.approx(entropy, rel=1e-9)
    assert code_tokens == pytest.approx(tokens, rel=1e-9)


def test_sampled_floor_matches_the_derived_floor(default_corpus):
    """The default corpus's floor is the derived one up to sampling noise.

    Ratio estimator over sentences: log floor = sum_i H_i / sum_i L_i (H_i the
    sentence's -log p, L_i its tokens), standard error sqrt(sum_i (H_i - r L_i)^2)
    / sum_i L_i. The corpus must land within 4 standard errors of the derived
    rate (measured: train 6.1903, valid 6.1958, test 6.2061 vs 6.1969)."""
    rate = FLOOR_ENTROPY_PER_SENTENCE / TOKENS_PER_SENTENCE
    for split in grammar.SPLITS:
        tokens = default_corpus.tokens[split]
        ends = np.flatnonzero(np.asarray(tokens) == grammar.EOS) + 1
        nll = -np.add.reduceat(default_corpus.log_probs[split], np.r_[0, ends[:-1]])
        lengths = np.diff(np.r_[0, ends])
        standard_error = np.sqrt(np.sum((nll - rate * lengths) ** 2)) / lengths.sum()
        observed = math.log(default_corpus.floor_perplexity(split))
        assert abs(observed - rate) < 4 * standard_error, (split, observed, standard_error)
        assert standard_error < 0.02  # the check has teeth: 1% of the perplexity at most


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
