"""Recurrent time-series forecasting experiment: ``python -m experiments.forecast``."""
