"""Recurrent cells and layers: Keras 3 drop-ins whose ``call`` reads like the equations.

| seqkit            | Keras built-in        |
|-------------------|-----------------------|
| ElmanCell / Elman | SimpleRNNCell / SimpleRNN |
| LSTMCell / LSTM   | LSTMCell / LSTM       |
| GRUCell / GRU     | GRUCell / GRU         |
| ClockworkCell / Clockwork | (none)        |

``CELLS`` maps a cell kind ("elman", "lstm", "gru", "clockwork") to its
(cell class, layer class); ``get(kind)`` looks one up with a clear error.
"""

from seqkit.layers.base import RecurrentCell, RecurrentLayer
from seqkit.layers.clockwork import Clockwork, ClockworkCell, ClockworkGates
from seqkit.layers.elman import Elman, ElmanCell, ElmanGates
from seqkit.layers.gru import GRU, GRUCell, GRUGates
from seqkit.layers.lstm import LSTM, LSTMCell, LSTMGates

CELLS = {
    "elman": (ElmanCell, Elman),
    "lstm": (LSTMCell, LSTM),
    "gru": (GRUCell, GRU),
    "clockwork": (ClockworkCell, Clockwork),
}

def get(kind):
    """(cell class, layer class) for a cell kind, e.g. ``get("lstm")``."""
    if kind not in CELLS:
        raise ValueError(
            f"Received an invalid value for argument `cell`, expected one of "
            f"{sorted(CELLS)}, got {kind!r}."
        )
    return CELLS[kind]
