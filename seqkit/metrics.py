"""Classification and sequence-labelling metrics (intent accuracy, macro-F1, slot F1).

Classification, over label strings (the label set is the union of the true and the
predicted labels, sorted, as in scikit-learn):

    accuracy      = #{i : pred_i = true_i} / n
    precision_c   = #{pred = true = c} / #{pred = c}      (0 when c is never predicted)
    recall_c      = #{pred = true = c} / #{true = c}      (0 when c never occurs)
    f1_c          = 2 P_c R_c / (P_c + R_c)               (0 when P_c + R_c = 0)
    macro_f1      = mean over classes of f1_c
    confusion[t, p] = #{true = labels[t], pred = labels[p]}

Slot filling, span level with the semantics of CoNLL's ``conlleval`` script (the
standard for ATIS/SNIPS slot F1): tags are ``O``, ``B-type``, ``I-type`` (``E-``/``S-``
of IOBES also read); a chunk starts at ``B``/``S``, at an ``I``/``E`` after ``O`` or
after a chunk's end, and wherever the type changes, so ``O I-x I-x`` is one chunk ``x``
and ``B-x I-y`` two chunks. Each sentence is read on its own (conlleval's sentence
boundary). A predicted chunk is correct only if a gold chunk has the same type and both
the same first and last word:

    precision = correct / predicted chunks, recall = correct / gold chunks,
    f1 = 2 P R / (P + R)

``exact_match`` is the fraction of utterances whose intent and every tag are right.

Example:
    >>> spans(["O", "B-city", "I-city", "I-date", "O", "I-time"])
    [('city', 1, 2), ('date', 3, 3), ('time', 5, 5)]
    >>> round(slot_scores([["B-x", "I-x", "O"]], [["B-x", "O", "O"]])["f1"], 3)
    0.0
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np


# --------------------------------------------------------------------------- intents


def accuracy(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    _check_lengths(y_true, y_pred)
    return float(np.mean([t == p for t, p in zip(y_true, y_pred)])) if y_true else 0.0


def class_labels(y_true: Sequence[str], y_pred: Sequence[str]) -> list[str]:
    """The sorted union of true and predicted labels."""
    return sorted(set(y_true) | set(y_pred))


def confusion_matrix(y_true: Sequence[str], y_pred: Sequence[str],
                     labels: Sequence[str] | None = None) -> np.ndarray:
    """int64 ``[len(labels), len(labels)]``, rows true, columns predicted."""
    _check_lengths(y_true, y_pred)
    labels = class_labels(y_true, y_pred) if labels is None else list(labels)
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), np.int64)
    for t, p in zip(y_true, y_pred):
        if t not in index or p not in index:
            raise ValueError(f"Received a label ({t!r} or {p!r}) missing from `labels`.")
        matrix[index[t], index[p]] += 1
    return matrix


def per_class_scores(y_true: Sequence[str], y_pred: Sequence[str]) -> dict[str, dict]:
    """label -> {"precision", "recall", "f1", "support"} (see the module docstring)."""
    labels = class_labels(y_true, y_pred)
    matrix = confusion_matrix(y_true, y_pred, labels)
    scores = {}
    for i, label in enumerate(labels):
        correct = matrix[i, i]
        predicted, support = matrix[:, i].sum(), matrix[i, :].sum()
        precision = correct / predicted if predicted else 0.0
        recall = correct / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[label] = {"precision": float(precision), "recall": float(recall),
                         "f1": float(f1), "support": int(support)}
    return scores


def macro_f1(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    scores = per_class_scores(y_true, y_pred)
    return float(np.mean([s["f1"] for s in scores.values()])) if scores else 0.0


def format_class_table(scores: dict[str, dict]) -> str:
    """A plain-text per-class precision/recall/F1/support table."""
    width = max([len("intent")] + [len(label) for label in scores])
    lines = [f"{'intent':<{width}}  precision  recall     f1  support"]
    for label, s in scores.items():
        lines.append(f"{label:<{width}}  {s['precision']:9.4f}  {s['recall']:6.4f}  "
                     f"{s['f1']:6.4f}  {s['support']:7d}")
    return "\n".join(lines)


def plot_confusion_matrix(matrix: np.ndarray, labels: Sequence[str], path: str,
                          title: str = "confusion matrix (rows: true, columns: predicted)"
                          ) -> str:
    """Writes the matrix as a PNG heat map with counts; returns ``path``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = max(4.0, 0.5 * len(labels) + 2.0)
    figure, axes = plt.subplots(figsize=(size + 1.0, size))
    image = axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    axes.set_yticks(range(len(labels)), labels, fontsize=8)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title, fontsize=9)
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, column), count in np.ndenumerate(matrix):
        if count:
            axes.text(column, row, str(count), ha="center", va="center", fontsize=7,
                      color="white" if count > threshold else "black")
    figure.colorbar(image, ax=axes)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


# --------------------------------------------------------------------------- slots


def _split_tag(tag: str) -> tuple[str, str]:
    """conlleval's ``^([^-]*)-(.*)$``: "B-city" -> ("B", "city"), "O" -> ("O", "")."""
    prefix, dash, kind = tag.partition("-")
    return (prefix, kind) if dash else (tag, "")


def _chunk_ends(prev: str, tag: str, prev_type: str, kind: str) -> bool:
    """conlleval's endOfChunk: did a chunk end between the previous word and this one?"""
    return (prev in ("E", "S")
            or (prev in ("B", "I") and tag in ("B", "S", "O"))
            or (prev not in ("O", ".") and prev_type != kind))


def _chunk_starts(prev: str, tag: str, prev_type: str, kind: str) -> bool:
    """conlleval's startOfChunk: does a chunk start at this word?"""
    return (tag in ("B", "S")
            or (prev in ("E", "S", "O") and tag in ("E", "I"))
            or (tag not in ("O", ".") and prev_type != kind))


def spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """The chunks of one sentence as ``(type, first, last)`` word indices (inclusive)."""
    result = []
    prev, prev_type, start = "O", "", None
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, kind = _split_tag(tag)
        if start is not None and _chunk_ends(prev, prefix, prev_type, kind):
            result.append((prev_type, start, i - 1))
            start = None
        if _chunk_starts(prev, prefix, prev_type, kind):
            start = i
        prev, prev_type = prefix, kind
    return result


def slot_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict:
    """Span precision/recall/F1 over sentences; see the module docstring.

    Returns:
      {"precision", "recall", "f1", "gold", "predicted", "correct"}.
    """
    _check_lengths(gold, predicted)
    num_gold = num_predicted = num_correct = 0
    for number, (g, p) in enumerate(zip(gold, predicted)):
        if len(g) != len(p):
            raise ValueError(f"Sentence {number}: {len(g)} gold tags but {len(p)} predicted; "
                             "expected one tag per word in both.")
        gold_spans, predicted_spans = set(spans(g)), set(spans(p))
        num_gold += len(gold_spans)
        num_predicted += len(predicted_spans)
        num_correct += len(gold_spans & predicted_spans)
    precision = num_correct / num_predicted if num_predicted else 0.0
    recall = num_correct / num_gold if num_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "gold": num_gold,
            "predicted": num_predicted, "correct": num_correct}


def exact_match(intents_true: Sequence[str], intents_pred: Sequence[str],
                tags_true: Sequence[Sequence[str]], tags_pred: Sequence[Sequence[str]]
                ) -> float:
    """Fraction of utterances with the right intent and every slot tag right."""
    _check_lengths(intents_true, intents_pred)
    _check_lengths(intents_true, tags_true)
    _check_lengths(tags_true, tags_pred)
    hits = [it == ip and list(tt) == list(tp)
            for it, ip, tt, tp in zip(intents_true, intents_pred, tags_true, tags_pred)]
    return float(np.mean(hits)) if hits else 0.0


def _check_lengths(a: Sequence, b: Sequence) -> None:
    if len(a) != len(b):
        raise ValueError(f"Received sequences of different lengths ({len(a)} and {len(b)}); "
                         "expected one prediction per example.")


# --------------------------------------------------------------------------
# Forecast metrics (arrays [windows, horizon, channels], original units)
# --------------------------------------------------------------------------
def seasonal_naive_scale(history: np.ndarray, season: int) -> np.ndarray:
    """MASE's denominator per channel: the in-sample seasonal-naive MAE of ``history``.

    ``scale_k = 1/(n - m) · Σ_{t=m}^{n-1} |y[t, k] - y[t - m, k]|`` (Hyndman &
    Koehler 2006, with season m; m = 1 is the naive one-step MAE), over the
    training rows ``history [n, channels]``.

    Example:
        >>> seasonal_naive_scale(np.array([[1.0], [2.0], [4.0]]), 1)
        array([1.5])
    """
    history = np.asarray(history, np.float64)
    if history.ndim != 2 or not 1 <= season < history.shape[0]:
        raise ValueError(f"history, season: expected [rows, channels] with more than "
                         f"season={season} rows, got shape {history.shape}")
    return np.abs(history[season:] - history[:-season]).mean(axis=0)


def mase(prediction: np.ndarray, target: np.ndarray, scale: np.ndarray) -> float:
    """Mean absolute scaled error: ``mean_k( mean_{i,h} |y - ŷ| / scale_k )``.

    ``scale`` from ``seasonal_naive_scale`` of the training rows. A channel whose
    scale is 0 (constant in training) is left out (its ratio is undefined);
    NaN when every scale is 0.

    Example:
        >>> mase(np.full((1, 2, 1), 1.0), np.full((1, 2, 1), 2.0), np.array([0.5]))
        2.0
    """
    error = np.abs(np.asarray(prediction, np.float64) - np.asarray(target, np.float64))
    per_channel = error.reshape(-1, error.shape[-1]).mean(axis=0)
    scale = np.asarray(scale, np.float64)
    usable = scale > 0
    return float(np.mean(per_channel[usable] / scale[usable])) if usable.any() else math.nan


def smape(prediction: np.ndarray, target: np.ndarray) -> float:
    """Symmetric MAPE as in M4, in percent: ``mean 200·|y − ŷ| / (|y| + |ŷ|)``.

    A term with ``y = ŷ = 0`` (0/0) counts as 0: the forecast is exact.

    Example:
        >>> smape(np.array([1.0, 0.0]), np.array([3.0, 0.0]))
        50.0
    """
    prediction, target = np.asarray(prediction, np.float64), np.asarray(target, np.float64)
    numerator = 200.0 * np.abs(target - prediction)
    denominator = np.abs(target) + np.abs(prediction)
    terms = np.divide(numerator, denominator, out=np.zeros_like(numerator),
                      where=denominator > 0)
    return float(terms.mean())


def per_step_errors(prediction: np.ndarray, target: np.ndarray) -> dict[str, list[float]]:
    """MSE and MAE of each horizon step (mean over windows and channels)."""
    error = np.asarray(prediction, np.float64) - np.asarray(target, np.float64)
    return {"mse": np.square(error).mean(axis=(0, 2)).tolist(),
            "mae": np.abs(error).mean(axis=(0, 2)).tolist()}


# --------------------------------------------------------------------------
# Quantile (probabilistic) forecast metrics: forecasts [..., Q] at levels q_1 < ... < q_Q
# --------------------------------------------------------------------------
def check_quantiles(quantiles, argument: str = "quantiles") -> tuple[float, ...]:
    """``quantiles`` as a tuple of floats: strictly increasing, in (0, 1), with 0.5.

    The 0.5 level is required because the median is the point forecast that
    every point metric (MSE, MAE, MASE, sMAPE, per step) scores.

    Example:
        >>> check_quantiles([0.1, 0.5, 0.9])
        (0.1, 0.5, 0.9)
        >>> check_quantiles([0.9, 0.5])
        Traceback (most recent call last):
        ...
        ValueError: quantiles: expected increasing levels strictly between 0 and 1 that include 0.5 (the median is the point forecast), got [0.9, 0.5]
    """
    try:
        levels = tuple(float(q) for q in quantiles)
    except (TypeError, ValueError):
        levels = None
    if (not levels or any(not 0 < q < 1 for q in levels)
            or any(b <= a for a, b in zip(levels, levels[1:])) or 0.5 not in levels):
        raise ValueError(f"{argument}: expected increasing levels strictly between 0 and 1 "
                         f"that include 0.5 (the median is the point forecast), got "
                         f"{list(quantiles) if levels is not None else quantiles!r}")
    return levels


def _check_quantile_forecast(quantile_forecast, target, quantiles):
    forecast = np.asarray(quantile_forecast, np.float64)
    target = np.asarray(target, np.float64)
    levels = np.asarray(quantiles, np.float64).reshape(-1)
    if forecast.shape != target.shape + (levels.size,) or target.size == 0:
        raise ValueError(f"quantile_forecast, target: expected shapes target.shape + "
                         f"(len(quantiles)={levels.size},) and a non-empty target, got "
                         f"{forecast.shape} and {target.shape}")
    return forecast, target, levels


def pinball_loss(quantile_forecast: np.ndarray, target: np.ndarray,
                 quantiles) -> np.ndarray:
    """Mean pinball (quantile) loss of each level ``[Q]``.

    ``pinball_q(y, ŷ) = max(q (y − ŷ), (q − 1)(y − ŷ))``: ``q·(y − ŷ)`` when the
    truth is above the forecast, ``(1 − q)·(ŷ − y)`` when below. Its expectation
    over y is minimized by the true q-quantile of y (so a forecaster trained on
    it learns quantiles); at q = 0.5 it is half the absolute error.

    Args:
        quantile_forecast: ``[..., Q]``, level ``quantiles[j]`` in ``[..., j]``.
        target: ``[...]``.
        quantiles: the Q levels.

    Example:
        >>> pinball_loss(np.array([[0.0, 1.0]]), np.array([2.0]), [0.1, 0.9])
        array([0.2, 0.9])
    """
    forecast, target, levels = _check_quantile_forecast(quantile_forecast, target, quantiles)
    error = target[..., None] - forecast
    loss = np.maximum(levels * error, (levels - 1) * error)
    return loss.reshape(-1, levels.size).mean(axis=0)


def weighted_quantile_loss(quantile_forecast: np.ndarray, target: np.ndarray,
                           quantiles) -> dict:
    """GluonTS' weighted quantile loss, per level and its mean (a CRPS estimate).

    ``wQL_q = 2 Σ pinball_q(y, ŷ_q) / Σ |y|`` over every window, step and
    target (GluonTS ``quantile_loss / abs_target_sum``), and
    ``mean_wQL = mean_q wQL_q`` (GluonTS ``mean_wQuantileLoss``: with evenly
    spread levels, an estimate of the CRPS normalized by Σ|y|). Use original
    units: Σ|y| of standardized (zero-mean) data measures spread, not size.

    Returns:
        ``{"per_quantile": [Q] list, "mean": float}``; NaN when Σ|y| = 0.

    Example:
        >>> weighted_quantile_loss(np.array([[0.0, 1.0]]), np.array([2.0]), [0.1, 0.9])
        {'per_quantile': [0.2, 0.9], 'mean': 0.55}
    """
    forecast, target, levels = _check_quantile_forecast(quantile_forecast, target, quantiles)
    total = float(np.abs(target).sum())
    pinball_sum = pinball_loss(forecast, target, levels) * target.size
    per = 2 * pinball_sum / total if total > 0 else np.full(levels.size, math.nan)
    return {"per_quantile": [float(v) for v in per], "mean": float(np.mean(per))}


def central_intervals(quantiles) -> list[tuple[int, int, float]]:
    """The central intervals a set of levels forms: ``(lower index, upper index, nominal
    coverage)`` for every pair ``q, 1 − q`` with q < 0.5 (nominal coverage 1 − 2q).

    Example:
        >>> central_intervals([0.05, 0.1, 0.5, 0.9, 0.95])
        [(0, 4, 0.9), (1, 3, 0.8)]
    """
    levels = [float(q) for q in quantiles]
    out = []
    for low, q in enumerate(levels):
        if q >= 0.5:
            continue
        for high, p in enumerate(levels):
            if abs(p - (1 - q)) < 1e-9:
                out.append((low, high, round(1 - 2 * q, 10)))
    return out


def interval_coverage(quantile_forecast: np.ndarray, target: np.ndarray,
                      quantiles) -> dict[str, float]:
    """Empirical coverage of every central interval: the fraction of targets with
    ``ŷ_q ≤ y ≤ ŷ_{1−q}``; a calibrated forecaster covers 1 − 2q of them.

    Returns:
        ``{"80": 0.79, ...}``: keys are the nominal coverage in percent (``%g``).

    Example:
        >>> f = np.array([[-1.0, 0.0, 1.0]] * 4)
        >>> interval_coverage(f, np.array([0.0, 0.5, 1.0, 2.0]), [0.1, 0.5, 0.9])
        {'80': 0.75}
    """
    forecast, target, levels = _check_quantile_forecast(quantile_forecast, target, quantiles)
    out = {}
    for low, high, nominal in central_intervals(levels):
        inside = (forecast[..., low] <= target) & (target <= forecast[..., high])
        out[f"{100 * nominal:g}"] = float(inside.mean())
    return out


def residual_quantiles(prediction: np.ndarray, target: np.ndarray, quantiles) -> np.ndarray:
    """Quantile offsets of a point forecaster from its residuals ``r = y − ŷ``
    (validation windows ``[n, H, T]``): ``[H, T, Q]``.

    The median's offset is 0, so the point forecast stays the median; level q
    gets the empirical q-quantile of r at that step and target (conformal-style,
    as darts' conformal models do), clipped at 0 on the wrong side of the
    median so that the levels never cross::

        offset_q = min(Q_q(r), 0)  (q < 0.5),   0  (q = 0.5),   max(Q_q(r), 0)  (q > 0.5)

    ``ŷ[..., None] + offset`` is then the forecaster's quantile forecast.

    Example:
        >>> r = np.arange(-5.0, 6.0).reshape(11, 1, 1)           # residuals -5 .. 5
        >>> residual_quantiles(np.zeros_like(r), r, [0.1, 0.5, 0.9])[0, 0]
        array([-4.,  0.,  4.])
    """
    levels = check_quantiles(quantiles)
    residual = np.asarray(target, np.float64) - np.asarray(prediction, np.float64)
    if residual.ndim != 3 or residual.shape[0] == 0:
        raise ValueError(f"prediction, target: expected [windows, horizon, targets] arrays "
                         f"with at least one window, got shape {residual.shape}")
    offsets = np.moveaxis(np.quantile(residual, levels, axis=0), 0, -1)   # [H, T, Q]
    below = np.asarray(levels) < 0.5
    offsets[..., below] = np.minimum(offsets[..., below], 0.0)
    offsets[..., ~below] = np.maximum(offsets[..., ~below], 0.0)
    offsets[..., levels.index(0.5)] = 0.0
    # Quantiles of one sample are already ordered; the clipping keeps the order.
    return offsets
