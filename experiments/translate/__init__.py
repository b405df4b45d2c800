"""python -m experiments.translate: encoder–decoder translation on the seqkit.runs harness."""
