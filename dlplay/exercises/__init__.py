"""Exercises: the learner writes a model's key piece, hidden checks run it in a sandbox (`sandbox`)."""
