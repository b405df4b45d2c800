"""Helpers shared by several test modules: tiny corpora and seqkit-free subprocesses."""

import os
import subprocess
import sys
import textwrap

import numpy as np

WORDS = "the cat sat on the mat . a dog ran to the cat . the mat was red .".split()


def write_ptb_corpus(folder, lines=60, seed=0, words=WORDS):
    """Write tiny ``ptb.{train,valid,test}.txt`` files (8 random words a line) into ``folder``."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    for split, n in (("train", lines), ("valid", lines // 4), ("test", lines // 4)):
        with open(os.path.join(folder, f"ptb.{split}.txt"), "w") as handle:
            for _ in range(n):
                handle.write(" ".join(rng.choice(words, size=8)) + "\n")
    return str(folder)


def run_without_seqkit(code, folder, timeout=300):
    """Run ``code`` in a fresh Python where importing seqkit (or experiments) fails.

    Proves that an exported artefact needs nothing but TensorFlow. Returns stdout.
    """
    script = "import sys\nsys.modules['seqkit'] = None\nsys.modules['experiments'] = None\n"
    script += textwrap.dedent(code)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=str(folder), env=env, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def half_written_save(module, directory, signatures=None):
    """A ``tf.saved_model.save`` stand-in that dies half-way: a crash during export."""
    with open(os.path.join(directory, "saved_model.pb"), "wb") as handle:
        handle.write(b"half written")
    raise OSError("disk full")
