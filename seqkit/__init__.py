"""seqkit: readable, exact and fast recurrent sequence models for Keras 3.

Modules:
  seqkit.layers    Elman, LSTM, GRU and Clockwork cells and layers (Keras drop-ins).
  seqkit.inspect   gate_trace: every gate's activation at every time step.
  seqkit.builders  stacked, bidirectional and deep bidirectional networks.
  seqkit.data      built-in corpora and series, loaders for PTB/WikiText/CSV files.
"""
__version__ = "0.1.0"
