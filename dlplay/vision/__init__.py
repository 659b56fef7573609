"""Vision: convolutional networks."""
