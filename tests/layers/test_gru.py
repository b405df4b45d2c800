"""seqkit.layers.GRU / GRUCell against keras.layers.GRU, the reference path and NumPy."""

from tests.layers import common


class TestGRU(common.LayerContract):
    kind = "gru"
    variants = {
        "reset_after": {},
        "reset_before": dict(reset_after=False),
        "reset_before_no_bias_softsign": dict(
            reset_after=False, use_bias=False, activation="softsign"
        ),
        "reset_after_no_bias_custom": dict(
            use_bias=False, activation=common.lecun_tanh, recurrent_activation="hard_sigmoid"
        ),
    }
    # reset_after=True trains with the fused loop, False with the plain one.
    graph_variants = ("reset_after", "reset_before")
