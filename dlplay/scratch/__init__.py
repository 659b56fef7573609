"""Deep learning from scratch, in NumPy only: the perceptron, an MLP with hand-written
backprop, K-fold cross-validation with grid search, and polynomial fits with L1/L2.

Small and readable on purpose (micrograd's style): one idea per class, the loop visible.
Nothing here imports torch; the tests compare these gradients with torch's autograd.
"""
from .mlp import MLP, SGD
from .perceptron import Perceptron, PerceptronTraining

__all__ = ["MLP", "SGD", "Perceptron", "PerceptronTraining"]
