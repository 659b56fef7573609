"""2-D playground: TensorFlow Playground's datasets, features and tiny network in NumPy.

`datasets` makes the points, `features` turns (x1, x2) into the network's inputs,
`net` is the network and its training step, `state` holds every user setting (and its
URL form), `sim` ties them into one run that a page steps, and `render` draws it.
"""
from dlplay.playground.sim import Playground
from dlplay.playground.state import PlaygroundState

__all__ = ["Playground", "PlaygroundState"]
