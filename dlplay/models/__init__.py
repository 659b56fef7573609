"""Small models, one idea per class."""
from .mlp import ACTIVATIONS, MLP
from .summary import count_parameters, summary_table

__all__ = ["ACTIVATIONS", "MLP", "count_parameters", "summary_table"]
