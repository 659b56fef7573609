"""Sequences and text: sentiment with recurrent networks and Transformers, word embeddings,
a sequence autoencoder. `corpus` reads the reviews, `tokens` turns them into word ids,
`batches` groups them by length so recurrent models skip the padding."""
