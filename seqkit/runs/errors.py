"""The two ways a run ends early on purpose: a user mistake and a diverged loss.

``runs.main`` prints either as one line, ``error: <message>``, and exits with
``EXIT_USAGE`` (2, as argparse and absl's usage errors do); any other exception
is a bug and keeps its traceback.
"""

import math

EXIT_USAGE = 2


class UsageError(ValueError):
    """A user mistake: a bad flag value, a missing or malformed file, a setting
    that cannot change on resume. The message names the flag or file, what was
    expected and what was received, and how to fix it.

    A ``ValueError`` so that library callers who catch ``ValueError`` keep working.
    """


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss; the last good checkpoint is kept."""


def check_finite(loss, step, checkpoint_dir=None):
    """``float(loss)``, or ``NonFiniteLossError`` with a clear message if it is NaN or inf.

    Example:
        >>> check_finite(2.5, step="1.3")
        2.5
    """
    value = float(loss)
    if not math.isfinite(value):
        where = f" The last good checkpoint is in {checkpoint_dir!r}." if checkpoint_dir else ""
        raise NonFiniteLossError(
            f"The training loss became {value} at step {step}; stopping.{where} "
            f"Try a lower --learning_rate or a smaller --max_grad_norm.")
    return value


def one_line(error, limit=600):
    """The first line of ``error``'s message, cut to ``limit`` characters.

    A tensor in a message (TensorFlow puts whole ``PerReplica`` values there)
    must not flood the terminal: the user gets the sentence, not the data.
    """
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text if len(text) <= limit else text[:limit] + " ..."
