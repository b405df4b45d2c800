"""A built-in intent corpus with slots whose best possible accuracy is known exactly.

Utterances are drawn from a small probabilistic grammar over seven intents::

    get_time          what time is it in new york ?
    get_weather       will it rain in paris tomorrow ?
    play_music        play yellow submarine by the beatles
    set_alarm         wake me up at seven thirty on monday
    book_flight       book a flight from boston to denver tomorrow
    commute_home      how long is the drive from work to home ?
    commute_to_work   how long is the drive from home to work ?

Word order decides the intent in two families that a bag of words cannot separate:

* the commute pair: ``from work to home`` and ``from home to work`` hold the same words;
* compounds (probability ``compound_rate``) of two clauses of different intents, where
  one is negated: ``<A> , not <B>`` means A and ``not <A> but <B>`` means B. A bag of
  words sees the same words for ``<A> , not <B>`` and ``<B> , not <A>``.

Every word carries a BIO slot tag (``B-city I-city``, ``B-fromloc``, ``B-toloc``,
``B-date``, ``B-time``, ``B-song``, ``B-artist``, ``B-genre``, ``O``); in a flight the
city after ``from`` is ``fromloc`` and the one after ``to`` is ``toloc`` whatever their
order (``to denver from boston``).

**Label noise and the ceiling.** Each label is replaced, with probability ``noise_rate``
(= eta), by one of the other K - 1 intents chosen uniformly; slot tags are never noisy.
The grammar is unambiguous: an utterance's token string determines its clean intent c(x)
(``tests/data/test_intents.py`` checks this on a large sample). So
p(label = c(x) | x) = 1 - eta and p(label = j | x) = eta / (K - 1) for j != c(x); when
1 - eta > eta / (K - 1) the Bayes-optimal classifier predicts c(x), and its expected
accuracy, the best any classifier can reach, is

    ceiling = 1 - eta                    (0.95 for the default eta = 0.05).

On a finite split the Bayes classifier scores exactly the fraction of labels that were
left clean, ``IntentCorpus.ceiling[split]``; that is the figure a model is compared with.

Example:
    >>> corpus = generate_intent_corpus(sizes={"train": 50, "valid": 10, "test": 10}, seed=0)
    >>> corpus.expected_ceiling
    0.95
    >>> len(corpus.train.tokens), corpus.train.tokens[0] == corpus.train.text[0].split()
    (50, True)
"""
from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

import numpy as np

INTENTS = ("get_time", "get_weather", "play_music", "set_alarm", "book_flight",
           "commute_home", "commute_to_work")
SPLITS = ("train", "valid", "test")
DEFAULT_SIZES = {"train": 6000, "valid": 1000, "test": 2000}

CITIES = ("paris", "london", "berlin", "boston", "denver", "tokyo", "dallas", "rome",
          "new york", "san francisco", "los angeles", "mexico city", "cape town", "oslo")
DATES = ("today", "tomorrow", "tonight", "on monday", "on friday", "this weekend",
         "next week")
TIMES = ("seven am", "six thirty", "noon", "eight fifteen", "five pm", "midnight", "nine")
SONGS = ("yellow submarine", "hey jude", "imagine", "thriller", "hotel california",
         "bad guy", "vogue")
ARTISTS = ("the beatles", "queen", "adele", "madonna", "the eagles", "prince", "abba")
GENRES = ("jazz", "rock", "classical", "pop", "blues")
PLACES = ("home", "work")


@dataclasses.dataclass(frozen=True)
class IntentSplit:
    """One split: ``tokens[i]`` (words), ``tags[i]`` (one BIO tag a word), ``labels[i]``
    (the possibly noisy intent), ``clean_labels[i]`` (the grammar's intent), ``text[i]``
    (the words joined by spaces)."""

    tokens: list[list[str]]
    tags: list[list[str]]
    labels: list[str]
    clean_labels: list[str]

    @property
    def text(self) -> list[str]:
        return [" ".join(tokens) for tokens in self.tokens]

    def __len__(self) -> int:
        return len(self.tokens)


@dataclasses.dataclass(frozen=True)
class IntentCorpus:
    """The generated corpus: splits, the noise rate and the ceilings.

    Attributes:
      train, valid, test: ``IntentSplit``s.
      intents: the K intent names.
      noise_rate: eta.
      expected_ceiling: 1 - eta, the Bayes-optimal accuracy in expectation.
      ceiling: split -> the Bayes-optimal classifier's accuracy on that split (the
        fraction of its labels equal to the clean intent).
      seed: the generator's seed.
    """

    train: IntentSplit
    valid: IntentSplit
    test: IntentSplit
    intents: tuple[str, ...]
    noise_rate: float
    expected_ceiling: float
    ceiling: Mapping[str, float]
    seed: int

    def split(self, name: str) -> IntentSplit:
        if name not in SPLITS:
            raise ValueError(f"Received an invalid value for argument `name`, expected one "
                             f"of {SPLITS}, got {name!r}.")
        return getattr(self, name)


def bayes_ceiling(noise_rate: float, num_intents: int = len(INTENTS)) -> float:
    """The best expected accuracy under symmetric label noise: ``1 - noise_rate``.

    Valid while ``1 - eta > eta / (K - 1)``, i.e. ``eta < (K - 1) / K``, when the clean
    intent stays the most likely label.
    """
    if not 0.0 <= noise_rate < (num_intents - 1) / num_intents:
        raise ValueError(f"Received an invalid value for argument `noise_rate`, expected a "
                         f"number in [0, {(num_intents - 1) / num_intents:.4f}) so that the "
                         f"clean intent stays the most likely label, got {noise_rate!r}.")
    return 1.0 - noise_rate


class _Utterance:
    """Words and tags built left to right."""

    def __init__(self):
        self.words, self.tags = [], []

    def say(self, text: str) -> "_Utterance":
        words = text.split()
        self.words += words
        self.tags += ["O"] * len(words)
        return self

    def slot(self, text: str, slot: str) -> "_Utterance":
        words = text.split()
        self.words += words
        self.tags += [f"B-{slot}"] + [f"I-{slot}"] * (len(words) - 1)
        return self

    def extend(self, other: "_Utterance") -> "_Utterance":
        self.words += other.words
        self.tags += other.tags
        return self


def _clause(intent: str, rng: np.random.Generator, question_mark: bool) -> _Utterance:
    """One clause of ``intent``; ``question_mark`` adds a final "?" to questions."""
    choice = lambda options: options[rng.integers(len(options))]  # noqa: E731
    maybe = lambda p: rng.random() < p  # noqa: E731
    u = _Utterance()
    question = False
    if intent == "get_time":
        u.say(choice(("what time is it", "tell me the time", "what is the time",
                      "what 's the time")))
        question = True
        if maybe(0.5):
            u.say("in").slot(choice(CITIES), "city")
    elif intent == "get_weather":
        u.say(choice(("what is the weather", "will it rain", "how hot is it",
                      "is it sunny", "what 's the forecast")))
        question = True
        if maybe(0.7):
            u.say("in").slot(choice(CITIES), "city")
        if maybe(0.5):
            u.slot(choice(DATES), "date")
    elif intent == "play_music":
        form = rng.integers(3)
        if form == 0:
            u.say(choice(("play", "please play", "i want to hear"))).slot(choice(SONGS), "song")
            if maybe(0.5):
                u.say("by").slot(choice(ARTISTS), "artist")
        elif form == 1:
            u.say(choice(("play some", "put on some"))).slot(choice(GENRES), "genre")
            u.say("music")
        else:
            u.say(choice(("put on", "play something by"))).slot(choice(ARTISTS), "artist")
    elif intent == "set_alarm":
        u.say(choice(("set an alarm for", "wake me up at", "set my alarm to")))
        u.slot(choice(TIMES), "time")
        if maybe(0.4):
            u.slot(choice(DATES), "date")
    elif intent == "book_flight":
        u.say(choice(("book a flight", "i need a flight", "find me a flight",
                      "get me a ticket")))
        origin, destination = rng.choice(len(CITIES), size=2, replace=False)
        if maybe(0.7):
            u.say("from").slot(CITIES[origin], "fromloc").say("to").slot(
                CITIES[destination], "toloc")
        else:
            u.say("to").slot(CITIES[destination], "toloc").say("from").slot(
                CITIES[origin], "fromloc")
        if maybe(0.4):
            u.slot(choice(DATES), "date")
    else:  # commute_home, commute_to_work: the same words, the order decides
        origin, destination = ("work", "home") if intent == "commute_home" else ("home", "work")
        u.say(choice(("how long is the drive", "how is the traffic", "show me the route",
                      "how long does it take to get")))
        question = True
        u.say("from").slot(origin, "fromloc").say("to").slot(destination, "toloc")
    if question and question_mark and maybe(0.5):
        u.say("?")
    return u


def _utterance(rng: np.random.Generator, compound_rate: float) -> tuple[_Utterance, str]:
    intent = INTENTS[rng.integers(len(INTENTS))]
    if rng.random() >= compound_rate:
        return _clause(intent, rng, question_mark=True), intent
    # A compound: the affirmed clause carries the intent, the negated one another.
    other = INTENTS[(INTENTS.index(intent) + 1 + rng.integers(len(INTENTS) - 1))
                    % len(INTENTS)]
    affirmed = _clause(intent, rng, question_mark=False)
    negated = _clause(other, rng, question_mark=False)
    if rng.random() < 0.5:  # "<A> , not <B>"
        u = affirmed.say(", not").extend(negated)
    else:                   # "not <B> but <A>"
        u = _Utterance().say("not").extend(negated).say("but").extend(affirmed)
    return u, intent


def generate_split(size: int, rng: np.random.Generator, noise_rate: float = 0.05,
                   compound_rate: float = 0.3) -> IntentSplit:
    """``size`` utterances; labels flipped with probability ``noise_rate``."""
    tokens, tags, labels, clean = [], [], [], []
    for _ in range(size):
        u, intent = _utterance(rng, compound_rate)
        label = intent
        if rng.random() < noise_rate:
            others = [name for name in INTENTS if name != intent]
            label = others[rng.integers(len(others))]
        tokens.append(u.words)
        tags.append(u.tags)
        clean.append(intent)
        labels.append(label)
    return IntentSplit(tokens=tokens, tags=tags, labels=labels, clean_labels=clean)


def generate_intent_corpus(sizes: Mapping[str, int] | None = None, noise_rate: float = 0.05,
                           compound_rate: float = 0.3, seed: int = 0) -> IntentCorpus:
    """Generates train/valid/test (``DEFAULT_SIZES`` by default) from one seed.

    Args:
      sizes: split -> number of utterances (each >= 1).
      noise_rate: eta, the probability that a label is replaced by another intent.
      compound_rate: the probability that an utterance is a negated compound.
      seed: seeds a ``numpy.random.Generator``; the same arguments give the same corpus.
    """
    sizes = dict(DEFAULT_SIZES if sizes is None else sizes)
    if set(sizes) != set(SPLITS) or any(
            isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1
            for n in sizes.values()):
        raise ValueError(f"Received an invalid value for argument `sizes`, expected a "
                         f"positive integer for each of {SPLITS}, got {sizes!r}.")
    if not 0.0 <= compound_rate <= 1.0:
        raise ValueError(f"Received an invalid value for argument `compound_rate`, expected "
                         f"a probability in [0, 1], got {compound_rate!r}.")
    expected = bayes_ceiling(noise_rate)
    rng = np.random.default_rng(seed)
    splits = {split: generate_split(int(sizes[split]), rng, noise_rate, compound_rate)
              for split in SPLITS}
    ceiling = {split: float(np.mean([a == b for a, b in zip(s.labels, s.clean_labels)]))
               for split, s in splits.items()}
    return IntentCorpus(intents=INTENTS, noise_rate=float(noise_rate), seed=seed,
                        expected_ceiling=expected, ceiling=ceiling, **splits)


def order_dependent_rate(compound_rate: float = 0.3, num_intents: int = len(INTENTS)) -> float:
    """The probability that an utterance's intent depends on word order: a compound, or
    a plain commute utterance (2 of the K intents)."""
    return compound_rate + (1.0 - compound_rate) * 2.0 / num_intents


def bag_of_words_expected_ceiling(noise_rate: float = 0.05, compound_rate: float = 0.3,
                                  num_intents: int = len(INTENTS)) -> float:
    """The best expected accuracy of any classifier that sees only the word multiset.

    An order-dependent bag (rate a = ``order_dependent_rate``) is produced by exactly two
    clean intents with equal probability (swap the clauses of a compound, or home and
    work), so the best guess is right with probability (1 - eta) / 2 + eta / (2 (K - 1));
    every other bag has one clean intent. Hence

        bow_ceiling = (1 - a) (1 - eta) + a ((1 - eta) + eta / (K - 1)) / 2

    (a = 0.3 + 0.7 * 2/7 = 0.5, so 0.7146 for the defaults eta = 0.05, compound rate
    0.3, K = 7; 0.75 without noise).
    """
    a = order_dependent_rate(compound_rate, num_intents)
    return ((1 - a) * (1 - noise_rate)
            + a * ((1 - noise_rate) + noise_rate / (num_intents - 1)) / 2)


def bag_of_words_ceiling(tokens: Sequence[Sequence[str]], labels: Sequence[str]) -> float:
    """The best accuracy any function of the word multiset reaches on (tokens, labels):
    for each bag, predicting its most frequent label (an upper bound for a bag-of-words
    model evaluated on the same data)."""
    groups: dict[tuple, dict[str, int]] = {}
    for words, label in zip(tokens, labels):
        counts = groups.setdefault(tuple(sorted(words)), {})
        counts[label] = counts.get(label, 0) + 1
    return sum(max(c.values()) for c in groups.values()) / max(len(labels), 1)
