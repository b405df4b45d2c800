"""Test-wide settings: quiet TensorFlow, deterministic float32 CPU math."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# oneDNN reorders float sums; exactness tests compare to 1e-5 and want the
# plain kernels so that results do not depend on the CPU's instruction set.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
