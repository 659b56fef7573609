"""Training craft: overfitting and the regularisers that fight it; input pipelines (shuffle, batch, repeat)."""
