"""Reinforcement learning on grid worlds, in NumPy: the worlds (`worlds`, gymnasium's toy-text ones
included), tabular agents (`agents`: Q-learning, SARSA, Expected SARSA), episodes played back as
pictures and GIFs (`episodes`) and the page's lesson (`lesson`)."""
