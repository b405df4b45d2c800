"""seqkit: readable, exact and fast recurrent sequence models for Keras 3."""
from setuptools import find_packages, setup

setup(
    name="seqkit",
    version="0.1.0",
    description=(
        "Keras 3 recurrent layers (Elman, LSTM, GRU, Clockwork RNN), builders for "
        "deep and bidirectional networks, and language-model / forecasting experiments."
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["seqkit", "seqkit.*", "experiments", "experiments.*"]),
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.16,<3",
        # seqkit cells inherit keras.src...DropoutRNNCell so that keras.layers.RNN
        # prepares their per-sequence dropout masks; that class is not public API,
        # so the Keras major version is pinned.
        "keras>=3.5,<4",
        "numpy>=1.26",
        "pandas>=2.0",
        "absl-py>=2.0",
        # tf.summary (the TensorBoard logs of the experiments) needs it; TF 2.21
        # no longer installs it.
        "tensorboard>=2.16",
        # Word tokenization of raw text (seqkit.data.tokenize), shared by the intent
        # and translation jobs; only NLTK's regex tokenizers are used, which need no
        # downloaded model.
        "nltk>=3.8",
        # The tokenizer's rules are written once in RE2 syntax and run in Python
        # through `regex` (Unicode classes \p{L}); NLTK depends on it too.
        "regex>=2022.1.18",
    ],
    extras_require={
        # Everything any test imports: the README's test command must pass on a
        # fresh machine (CI installs exactly this into a new virtual environment).
        "test": ["pytest>=8", "pytest-xdist>=3.5", "matplotlib>=3.7", "sacrebleu>=2.4"],
        "plot": ["matplotlib>=3.7"],
        # Corpus BLEU and chrF, the field's reference implementation.
        "translate": ["sacrebleu>=2.4"],
    },
)
