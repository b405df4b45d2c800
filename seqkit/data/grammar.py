"""A built-in language-model corpus whose best achievable perplexity is known exactly.

The corpus is sampled from a small probabilistic grammar of an English-like toy
language (our own; no text comes from elsewhere). It has the kinds of long-range
structure that separate gated recurrent networks from plain ones:

* subject-verb number agreement across relative clauses and prepositional
  phrases, which nest up to three deep ("the dog that the cats that a girl likes
  chase sleeps", "the dog near the cats sleeps"),
* reflexive objects that agree in number and gender with their clause's subject,
  which may be far back ("the king that the girls like sees himself"), and
* brackets "(" ... ")" around noun phrases and quotes "``" ... "''" around
  clauses, which nest and must be closed innermost first.

The grammar. ``d`` is the embedding depth; ``f`` and ``g`` are agreement features,
a (number, gender) pair: number sg or pl, gender masculine, feminine or neuter.
Each alternative's probability is on its right::

    SENTENCE  -> CLAUSE_0 "." "<eos>"
    CLAUSE_d  -> NP_d(f) VP_d(f)                    the verb phrase agrees with the subject
    NP_d(f)   -> DET ADJ* NOUN(f) POST_d(f)
    DET       -> "the" .40 | "a" .20 | "every" .10  "the" leaves the number to the noun;
               | "some" .15 | "many" .15            a/every -> sg; some/many -> pl
    ADJ*      -> each step: one more ADJ .3 | stop .7
    NOUN(f)   -> uniform over the nouns the determiner allows (18 or 9)
    POST_d(f) -> "that" RC_{d+1}(f)       P_THAT[d]         (.30, .15, .08, 0)
               | PREP NP_{d+1}(g)         P_PREPOSITION[d]  (.15, .08, .04, 0)
               | "(" NP_{d+1}(g) ")"      P_PAREN[d]        (.05, .03, .02, 0)
               | (nothing)                the rest
    RC_d(f)   -> VP_d(f)                  .4          subject relative: "that chases a cat"
               | NP_d(g) TVERB(g)         .6          object relative:  "that the cats chase"
    VP_d(f)   -> IVERB(f)                 the rest    "sleeps"
               | TVERB(f) OBJECT_d(f)     .45         "chases the cat", "chases itself"
               | SVERB(f) "``" CLAUSE_{d+1} "''"      P_SAY[d] (.10, .05, .02, 0)
    OBJECT_d(f) -> REFLEXIVE(f)           .35         himself / herself / itself / themselves
               | NP_d(g)                  .65

    ADJ    = big small young tall happy clever                            (uniform)
    NOUN   = masculine king(s) boy(s) man/men, feminine queen(s) girl(s) woman/women,
             neuter dog(s) cat(s) bird(s)
    PREP   = near with                                                    (uniform)
    IVERB  = sleeps/sleep runs/run sings/sing laughs/laugh                (uniform; sg/pl)
    TVERB  = sees/see likes/like chases/chase helps/help follows/follow   (uniform)
    SVERB  = says/say shouts/shout                                        (uniform)

A verb agrees with its subject's number; a reflexive with its subject's number
and, in the singular, gender. The subject of a subject relative is its head noun
("the king that sees himself"). Embedding stops at depth ``MAX_DEPTH = 3`` (the
probabilities above are 0 there), so every sentence is finite and so is the
parser's state space.

Why the floor is exact: the grammar is LL(1). At every point of a sentence, each
possible next token is reached by exactly one sequence of grammar choices (every
alternative begins with its own tokens, and the tokens that may follow an empty
alternative are none of those that begin its siblings). So the state of the
generator (the stack of pending grammar symbols, with depths and features) is a
deterministic function of the tokens seen so far, and::

    p(token_t | token_1 .. token_{t-1}) = product of the probabilities of the choices
                                          made between emitting token_{t-1} and token_t

Sentences are independent, so the history before the last ``<eos>`` adds nothing.
``GrammarParser`` re-derives these probabilities by parsing (it asserts the LL(1)
property at every state it meets) and the tests check that it agrees with the
log-probabilities recorded by the sampler. ``exp(mean negative log-prob)`` of a
split is then the lowest perplexity that any model can reach on it in
expectation: the *floor*.

Example:
    >>> corpus = generate_corpus(num_tokens_train=2000, num_tokens_valid=300,
    ...                          num_tokens_test=300, seed=0)
    >>> " ".join(corpus.train[:9])
    'every big happy woman follows the king . <eos>'
    >>> len(corpus.valid), round(corpus.floor_perplexity("valid"), 3)
    (305, 6.178)
    >>> bool(np.allclose(score_tokens(corpus.valid), corpus.log_probs["valid"]))
    True
"""
from __future__ import annotations

import bisect
import collections
import dataclasses
import functools
import math
from typing import Iterable, Mapping, NamedTuple, Sequence

import numpy as np

EOS = "<eos>"
SPLITS = ("train", "valid", "test")

SINGULAR, PLURAL = 0, 1
MASCULINE, FEMININE, NEUTER = "masculine", "feminine", "neuter"
MAX_DEPTH = 3


class Features(NamedTuple):
    """The agreement features of a noun phrase."""

    number: int   # SINGULAR or PLURAL
    gender: str   # MASCULINE, FEMININE or NEUTER


# Determiner -> (probability, the number it forces; None = the noun decides).
DETERMINERS = {
    "the": (0.40, None),
    "a": (0.20, SINGULAR),
    "every": (0.10, SINGULAR),
    "some": (0.15, PLURAL),
    "many": (0.15, PLURAL),
}
ADJECTIVES = ("big", "small", "young", "tall", "happy", "clever")
# Gender -> (singular, plural) noun pairs; the index into a pair is the number.
NOUNS_BY_GENDER = {
    MASCULINE: (("king", "kings"), ("boy", "boys"), ("man", "men")),
    FEMININE: (("queen", "queens"), ("girl", "girls"), ("woman", "women")),
    NEUTER: (("dog", "dogs"), ("cat", "cats"), ("bird", "birds")),
}
REFLEXIVES = {
    Features(SINGULAR, MASCULINE): "himself",
    Features(SINGULAR, FEMININE): "herself",
    Features(SINGULAR, NEUTER): "itself",
    Features(PLURAL, MASCULINE): "themselves",
    Features(PLURAL, FEMININE): "themselves",
    Features(PLURAL, NEUTER): "themselves",
}
# (singular, plural) verb pairs.
INTRANSITIVE_VERBS = (("sleeps", "sleep"), ("runs", "run"), ("sings", "sing"), ("laughs", "laugh"))
TRANSITIVE_VERBS = (
    ("sees", "see"), ("likes", "like"), ("chases", "chase"), ("helps", "help"),
    ("follows", "follow"),
)
SPEECH_VERBS = (("says", "say"), ("shouts", "shout"))

PREPOSITIONS = ("near", "with")

P_ADJECTIVE = 0.3           # probability of one more adjective before the noun
# Indexed by depth 0..MAX_DEPTH; zero at MAX_DEPTH so that embedding ends.
P_THAT = (0.30, 0.15, 0.08, 0.0)
P_PREPOSITION = (0.15, 0.08, 0.04, 0.0)
P_PAREN = (0.05, 0.03, 0.02, 0.0)
P_SAY = (0.10, 0.05, 0.02, 0.0)
P_TRANSITIVE = 0.45
# Object relatives put a second noun (an "attractor") between subject and verb.
P_SUBJECT_RELATIVE = 0.4
P_REFLEXIVE = 0.35

NOUN_FEATURES = {
    pair[number]: Features(number, gender)
    for gender, pairs in NOUNS_BY_GENDER.items() for pair in pairs
    for number in (SINGULAR, PLURAL)
}
VERB_NUMBER = {
    word: number
    for pairs in (INTRANSITIVE_VERBS, TRANSITIVE_VERBS, SPEECH_VERBS)
    for pair in pairs for number, word in enumerate(pair)
}
VOCABULARY = tuple(sorted(
    set(DETERMINERS) | set(ADJECTIVES) | set(NOUN_FEATURES) | set(REFLEXIVES.values())
    | set(VERB_NUMBER) | set(PREPOSITIONS) | {"that", "(", ")", "``", "''", ".", EOS}
))
"""Every token the grammar can produce (64 tokens)."""

DEFAULT_NUM_TOKENS = {"train": 200_000, "valid": 20_000, "test": 20_000}


def _nouns_allowed(number_constraint) -> list[tuple[str, Features]]:
    """(noun, features) a determiner allows: all 18 nouns, or the 9 of one number."""
    return [(noun, features) for noun, features in NOUN_FEATURES.items()
            if number_constraint is None or features.number == number_constraint]


def _verb_phrase_kinds(depth: int) -> list[tuple[str, float]]:
    """(kind, probability) of the verb-phrase alternatives at this depth."""
    p_speech = P_SAY[depth]
    return [("intransitive", 1.0 - P_TRANSITIVE - p_speech),
            ("transitive", P_TRANSITIVE), ("speech", p_speech)]


_VERBS_OF_KIND = {
    "intransitive": INTRANSITIVE_VERBS, "transitive": TRANSITIVE_VERBS, "speech": SPEECH_VERBS,
}


# --------------------------------------------------------------------------- sampler


@dataclasses.dataclass(frozen=True)
class _Choice:
    """A categorical choice prepared for fast inverse-CDF sampling."""

    options: tuple
    cumulative: tuple
    log_probs: tuple

    @classmethod
    def of(cls, pairs: Iterable[tuple[object, float]]) -> "_Choice":
        # Zero-probability options are dropped so that rounding in the cumulative
        # sum can never select them.
        pairs = [(option, p) for option, p in pairs if p > 0.0]
        total = sum(p for _, p in pairs)
        if not math.isclose(total, 1.0, abs_tol=1e-12):
            raise AssertionError(f"grammar probabilities sum to {total}, not 1: {pairs}")
        cumulative = tuple(np.cumsum([p for _, p in pairs]).tolist())
        return cls(tuple(o for o, _ in pairs), cumulative, tuple(math.log(p) for _, p in pairs))


def _uniform(options) -> _Choice:
    options = list(options)
    return _Choice.of((option, 1.0 / len(options)) for option in options)


_DETERMINER_CHOICE = _Choice.of((det, p) for det, (p, _) in DETERMINERS.items())
_ADJECTIVE_OR_NOUN_CHOICE = _Choice.of([(True, P_ADJECTIVE), (False, 1.0 - P_ADJECTIVE)])
_ADJECTIVE_CHOICE = _uniform(ADJECTIVES)
_NOUN_CHOICE = {c: _uniform(_nouns_allowed(c)) for c in (None, SINGULAR, PLURAL)}
_POST_MODIFIER_CHOICE = [
    _Choice.of([("relative", P_THAT[d]), ("prepositional", P_PREPOSITION[d]),
                ("parenthetical", P_PAREN[d]),
                ("none", 1.0 - P_THAT[d] - P_PREPOSITION[d] - P_PAREN[d])])
    for d in range(MAX_DEPTH + 1)
]
_RELATIVE_CHOICE = _Choice.of([("subject", P_SUBJECT_RELATIVE),
                               ("object", 1.0 - P_SUBJECT_RELATIVE)])
_VERB_PHRASE_CHOICE = [_Choice.of(_verb_phrase_kinds(d)) for d in range(MAX_DEPTH + 1)]
_VERB_CHOICE = {(kind, number): _uniform(pair[number] for pair in verbs)
                for kind, verbs in _VERBS_OF_KIND.items() for number in (SINGULAR, PLURAL)}
_PREPOSITION_CHOICE = _uniform(PREPOSITIONS)
_OBJECT_CHOICE = _Choice.of([("reflexive", P_REFLEXIVE), ("noun_phrase", 1.0 - P_REFLEXIVE)])


class _Sampler:
    """Samples sentences top-down, left to right, recording exact log-probabilities.

    Every grammar choice is made at the last moment (just before the first token
    that depends on it), so the choices made between two emitted tokens are
    exactly the ones the second token reveals: their log-probabilities are summed
    into that token's entry.
    """

    _UNIFORM_BATCH = 1 << 16

    def __init__(self, rng: np.random.Generator):
        self._rng = rng
        # Uniforms are drawn in batches: one rng call per choice would dominate the run time.
        self._uniforms: list[float] = []
        self._next_uniform = 0
        self.tokens: list[str] = []
        self.log_probs: list[float] = []
        self.dependencies: list[tuple[int, int]] = []
        self._pending_log_prob = 0.0

    def _choose(self, choice: _Choice):
        if self._next_uniform == len(self._uniforms):
            self._uniforms = self._rng.random(self._UNIFORM_BATCH).tolist()
            self._next_uniform = 0
        u = self._uniforms[self._next_uniform]
        self._next_uniform += 1
        index = min(bisect.bisect_right(choice.cumulative, u), len(choice.options) - 1)
        self._pending_log_prob += choice.log_probs[index]
        return choice.options[index]

    def _emit(self, token: str) -> int:
        self.tokens.append(token)
        self.log_probs.append(self._pending_log_prob)
        self._pending_log_prob = 0.0
        return len(self.tokens) - 1

    def sentence(self) -> None:
        self._clause(0)
        self._emit(".")
        self._emit(EOS)

    def _clause(self, depth: int) -> None:
        features, noun_position = self._noun_phrase(depth)
        self._verb_phrase(depth, features, noun_position)

    def _noun_phrase(self, depth: int) -> tuple[Features, int]:
        determiner = self._choose(_DETERMINER_CHOICE)
        self._emit(determiner)
        while self._choose(_ADJECTIVE_OR_NOUN_CHOICE):
            self._emit(self._choose(_ADJECTIVE_CHOICE))
        noun, features = self._choose(_NOUN_CHOICE[DETERMINERS[determiner][1]])
        noun_position = self._emit(noun)
        self._post_modifier(depth, features, noun_position)
        return features, noun_position

    def _post_modifier(self, depth: int, features: Features, noun_position: int) -> None:
        kind = self._choose(_POST_MODIFIER_CHOICE[depth])
        if kind == "relative":
            self._emit("that")
            self._relative_clause(depth + 1, features, noun_position)
        elif kind == "prepositional":
            self._emit(self._choose(_PREPOSITION_CHOICE))
            self._noun_phrase(depth + 1)
        elif kind == "parenthetical":
            opening = self._emit("(")
            self._noun_phrase(depth + 1)
            self.dependencies.append((opening, self._emit(")")))

    def _relative_clause(self, depth: int, head: Features, head_position: int) -> None:
        if self._choose(_RELATIVE_CHOICE) == "subject":
            self._verb_phrase(depth, head, head_position)
        else:
            features, noun_position = self._noun_phrase(depth)
            verb = self._choose(_VERB_CHOICE["transitive", features.number])
            self.dependencies.append((noun_position, self._emit(verb)))

    def _verb_phrase(self, depth: int, subject: Features, subject_position: int) -> None:
        kind = self._choose(_VERB_PHRASE_CHOICE[depth])
        verb = self._choose(_VERB_CHOICE[kind, subject.number])
        self.dependencies.append((subject_position, self._emit(verb)))
        if kind == "transitive":
            if self._choose(_OBJECT_CHOICE) == "reflexive":
                self.dependencies.append((subject_position, self._emit(REFLEXIVES[subject])))
            else:
                self._noun_phrase(depth)
        elif kind == "speech":
            opening = self._emit("``")
            self._clause(depth + 1)
            self.dependencies.append((opening, self._emit("''")))


# --------------------------------------------------------------------------- corpus


# eq=False: the fields hold numpy arrays, which have no single truth value.
@dataclasses.dataclass(frozen=True, eq=False)
class GrammarCorpus:
    """Token streams of the three splits with their exact log-probabilities.

    Attributes:
      tokens: split name -> list of tokens; every sentence ends with "." "<eos>".
      log_probs: split name -> float64 array, ``log p(token_t | all earlier tokens
        of that split)`` under the generating grammar (natural log).
      dependencies: split name -> int array [k, 2] of (earlier, later) token
        positions where the later token is fixed by the earlier one: subject noun
        -> its verb (number) and its reflexive (number, gender), "(" -> ")",
        "``" -> "''". For statistics and tests; a model never sees it.
      seed: the seed the corpus was generated from.
    """

    tokens: Mapping[str, list[str]]
    log_probs: Mapping[str, np.ndarray]
    dependencies: Mapping[str, np.ndarray]
    seed: int

    @property
    def train(self) -> list[str]:
        return self.tokens["train"]

    @property
    def valid(self) -> list[str]:
        return self.tokens["valid"]

    @property
    def test(self) -> list[str]:
        return self.tokens["test"]

    def floor_perplexity(self, split: str) -> float:
        """``exp(-mean_t log p(token_t | history))``: no model does better in expectation."""
        _check_split(split)
        return float(np.exp(-np.mean(self.log_probs[split])))


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"Received an invalid value for argument `split`, expected one of "
                         f"{SPLITS}, got {split!r}.")


def _check_count(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"Received an invalid value for argument `{name}`, expected a "
                         f"positive integer, got {value!r}.")


def generate_split(num_tokens: int, seed: int = 0, split: str = "train"):
    """Samples whole sentences until at least ``num_tokens`` tokens are produced.

    Each split draws from its own random stream, ``SeedSequence([seed, index of
    split])``, so the valid and test text do not change when the train size does.

    Returns:
      (tokens, log_probs, dependencies) as described in ``GrammarCorpus``.
    """
    _check_count("num_tokens", num_tokens)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"Received an invalid value for argument `seed`, expected a "
                         f"non-negative integer, got {seed!r}.")
    _check_split(split)
    sampler = _Sampler(np.random.default_rng([int(seed), SPLITS.index(split)]))
    while len(sampler.tokens) < num_tokens:
        sampler.sentence()
    dependencies = np.asarray(sampler.dependencies, dtype=np.int64).reshape(-1, 2)
    return sampler.tokens, np.asarray(sampler.log_probs, dtype=np.float64), dependencies


def generate_corpus(num_tokens_train: int = DEFAULT_NUM_TOKENS["train"],
                    num_tokens_valid: int = DEFAULT_NUM_TOKENS["valid"],
                    num_tokens_test: int = DEFAULT_NUM_TOKENS["test"],
                    seed: int = 0) -> GrammarCorpus:
    """Generates the train/valid/test streams of the grammar language.

    Args:
      num_tokens_train: minimum number of training tokens (200,000); the split
        ends at the first sentence end at or after it.
      num_tokens_valid: same for validation (20,000).
      num_tokens_test: same for test (20,000).
      seed: non-negative integer; the corpus is a deterministic function of it.

    Returns:
      A ``GrammarCorpus``. See the module docstring for the grammar and an example.
    """
    sizes = {"train": num_tokens_train, "valid": num_tokens_valid, "test": num_tokens_test}
    for split, size in sizes.items():
        _check_count(f"num_tokens_{split}", size)
    tokens, log_probs, dependencies = {}, {}, {}
    for split, size in sizes.items():
        tokens[split], log_probs[split], dependencies[split] = generate_split(size, seed, split)
    return GrammarCorpus(tokens=tokens, log_probs=log_probs, dependencies=dependencies,
                         seed=int(seed))


# --------------------------------------------------------------------------- parser
#
# Stack symbols (tuples; the top of the stack is the last element; f: Features):
#   ("sentence",)                a whole sentence
#   ("clause", d)                NP_d VP_d; the VP is pushed once the noun fixes f
#   ("np", d, role)              role: what follows the NP and needs its features
#   ("np_body", d, role, c)      adjectives and noun after a determiner; c: number constraint
#   ("post", d, f)               the optional post-modifier of a noun with features f
#   ("rc", d, f)                 a relative clause whose head has features f
#   ("vp", d, f)                 a verb phrase agreeing with a subject with features f
#   ("object", d, f)             the object of a transitive verb whose subject has f
#   ("tverb", n)                 the transitive verb of number n that ends an object relative
#   ("token", t)                 exactly the token t

# Roles of a noun phrase: what must follow it that depends on its features.
_SUBJECT, _OBJECT, _RELATIVE_SUBJECT, _MODIFIER = "subject", "object", "rc_subject", "modifier"


def _after_noun(role: str, depth: int, features: Features) -> list[tuple]:
    """The symbols a noun with ``features`` leaves to parse, in reading order."""
    following = {
        _SUBJECT: [("vp", depth, features)],
        _RELATIVE_SUBJECT: [("tverb", features.number)],
        _OBJECT: [],
        _MODIFIER: [],
    }[role]
    return [("post", depth, features)] + following


def _alternatives(symbol: tuple) -> list[tuple[float, str | None, list[tuple]]]:
    """The grammar rules for ``symbol``: (probability, first token or None, rest).

    ``rest`` lists the symbols that replace ``symbol`` after its first token, in
    reading order. A None token marks a rule that begins with a symbol, not a token.
    """
    kind = symbol[0]
    if kind == "sentence":
        return [(1.0, None, [("clause", 0), ("token", "."), ("token", EOS)])]
    if kind == "clause":
        return [(1.0, None, [("np", symbol[1], _SUBJECT)])]
    if kind == "np":
        _, depth, role = symbol
        return [(p, determiner, [("np_body", depth, role, constraint)])
                for determiner, (p, constraint) in DETERMINERS.items()]
    if kind == "np_body":
        _, depth, role, constraint = symbol
        nouns = _nouns_allowed(constraint)
        return ([(P_ADJECTIVE / len(ADJECTIVES), adjective, [symbol]) for adjective in ADJECTIVES]
                + [((1.0 - P_ADJECTIVE) / len(nouns), noun, _after_noun(role, depth, features))
                   for noun, features in nouns])
    if kind == "post":
        _, depth, features = symbol
        rules = [(P_THAT[depth], "that", [("rc", depth + 1, features)])]
        rules += [(P_PREPOSITION[depth] / len(PREPOSITIONS), preposition,
                   [("np", depth + 1, _MODIFIER)]) for preposition in PREPOSITIONS]
        rules += [(P_PAREN[depth], "(", [("np", depth + 1, _MODIFIER), ("token", ")")]),
                  (1.0 - P_THAT[depth] - P_PREPOSITION[depth] - P_PAREN[depth], None, [])]
        return [rule for rule in rules if rule[0] > 0.0]
    if kind == "rc":
        _, depth, features = symbol
        return [(P_SUBJECT_RELATIVE, None, [("vp", depth, features)]),
                (1.0 - P_SUBJECT_RELATIVE, None, [("np", depth, _RELATIVE_SUBJECT)])]
    if kind == "vp":
        _, depth, features = symbol
        rest_of_kind = {
            "intransitive": [],
            "transitive": [("object", depth, features)],
            "speech": [("token", "``"), ("clause", depth + 1), ("token", "''")],
        }
        return [(p_kind / len(_VERBS_OF_KIND[kind]), pair[features.number], rest_of_kind[kind])
                for kind, p_kind in _verb_phrase_kinds(depth) if p_kind > 0.0
                for pair in _VERBS_OF_KIND[kind]]
    if kind == "object":
        _, depth, subject = symbol
        return [(P_REFLEXIVE, REFLEXIVES[subject], []),
                (1.0 - P_REFLEXIVE, None, [("np", depth, _OBJECT)])]
    if kind == "tverb":
        return [(1.0 / len(TRANSITIVE_VERBS), pair[symbol[1]], []) for pair in TRANSITIVE_VERBS]
    if kind == "token":
        return [(1.0, symbol[1], [])]
    raise AssertionError(f"unknown grammar symbol {symbol!r}")


@functools.lru_cache(maxsize=None)
def _predict(stack: tuple) -> dict[str, tuple[float, tuple]]:
    """Next-token distribution of a parser state: token -> (probability, next state).

    Rules that begin with a symbol are expanded until a token is reached, multiplying
    probabilities along the way. Raises AssertionError if two expansion paths reach
    the same token: that would make the state after it ambiguous (not LL(1)).
    The state space is finite (depth is bounded), so the cache stays small.
    """
    if not stack:  # after "<eos>" the stream goes on with a new sentence
        stack = (("sentence",),)
    top, below = stack[-1], stack[:-1]
    prediction: dict[str, tuple[float, tuple]] = {}

    def add(token, probability, next_stack):
        if token in prediction:
            raise AssertionError(f"grammar is not LL(1): {token!r} reachable twice from {stack}")
        prediction[token] = (probability, next_stack)

    for probability, token, rest in _alternatives(top):
        next_stack = below + tuple(reversed(rest))
        if token is None:
            for inner_token, (inner_probability, inner_stack) in _predict(next_stack).items():
                add(inner_token, probability * inner_probability, inner_stack)
        else:
            add(token, probability, next_stack)
    return prediction


class GrammarParser:
    """Exact incremental scorer of a token stream of the grammar language.

    Independent of the sampler: it parses with an explicit stack and the rules of
    the grammar, and derives ``p(next token | history)`` from them.

    Example:
        >>> parser = GrammarParser()
        >>> round(parser.next_token_probabilities()["the"], 2)
        0.4
        >>> round(math.exp(parser.consume("the")), 2)
        0.4
    """

    def __init__(self):
        self._stack: tuple = ()
        self.num_consumed = 0

    def next_token_probabilities(self) -> dict[str, float]:
        """Every token possible next, with its probability (they sum to 1)."""
        return {token: p for token, (p, _) in _predict(self._stack).items()}

    def consume(self, token: str) -> float:
        """Advances past ``token`` and returns ``log p(token | history)``.

        Raises:
          ValueError: the token cannot occur here; the message lists what can.
        """
        prediction = _predict(self._stack)
        if token not in prediction:
            raise ValueError(
                f"Token {token!r} at position {self.num_consumed} is not possible in the "
                f"grammar language here; expected one of {sorted(prediction)}.")
        probability, self._stack = prediction[token]
        self.num_consumed += 1
        return math.log(probability)

    @property
    def at_sentence_start(self) -> bool:
        return not self._stack


def score_tokens(tokens: Sequence[str]) -> np.ndarray:
    """Exact ``log p(token_t | tokens[:t])`` for a stream that starts at a sentence start."""
    parser = GrammarParser()
    return np.fromiter((parser.consume(token) for token in tokens), dtype=np.float64,
                       count=len(tokens))


def unigram_perplexity(tokens: Sequence[str]) -> float:
    """Perplexity of the text under its own token frequencies, ``exp(entropy)``.

    The best any context-free (unigram) model can do on this text, even one fit to it.
    """
    if len(tokens) == 0:
        raise ValueError("Received an empty `tokens` sequence; expected at least one token.")
    counts = np.array(list(collections.Counter(tokens).values()), dtype=np.float64)
    frequencies = counts / counts.sum()
    return float(np.exp(-np.sum(frequencies * np.log(frequencies))))
