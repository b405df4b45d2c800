"""Language-model experiment: ``python -m experiments.lm`` (see ``__main__.py``)."""
