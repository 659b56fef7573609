"""Adds a small run of each page that `harvest` found only large runs of (weights of more than
`harvest.MAX_BYTES`), trained through the real recording path (`dlplay.runs.record.start`) at settings small
enough to keep in the repository:

    DLPLAY_DATA_DIR=../shared/data python -m tests.stores.small_runs tests/stores/<date> dn gan …
"""
from __future__ import annotations

import sys

from dlplay.train import TrainConfig


def specs() -> dict:
    from dlplay.craft.diagnosis import DiagnosisSpec
    from dlplay.craft.overfit import OverfitSpec
    from dlplay.craft.pipeline import PipelineSpec
    from dlplay.music.training import MusicSpec
    from dlplay.scratch.digits import DigitsSpec
    from dlplay.generative.denoise import DenoiseSpec
    from dlplay.generative.gan import GANSpec
    from dlplay.generative.morph import MorphSpec
    from dlplay.generative.vae import VAESpec
    from dlplay.text.models import NetSpec
    from dlplay.text.sentiment import SentimentSpec
    from dlplay.text.seqae import SeqAESpec
    from dlplay.text.word2vec import Word2VecSpec
    from dlplay.vision.forgetting import ForgetSpec
    from dlplay.vision.transfer import TransferSpec

    one = TrainConfig(lr=3e-3, epochs=1, schedule="constant", batch_size=64)
    return {
        "diag": DiagnosisSpec(n_train=500, epochs=1, hidden=8),
        "pipe": PipelineSpec(dataset="digits8x8", n_train=500, epochs=1),
        "music": MusicSpec(dataset="bach", hidden=8, epochs=1, window=50, length=16),
        "npdigits": DigitsSpec(hidden=(16,), epochs=1),
        "dn": DenoiseSpec(dataset="digits8x8", k=4, n_train=500, n_val=100, train=one),
        "emb": Word2VecSpec(corpus="uci_sentences", n_train=400, vector_size=8, max_vocab=300, epochs=1,
                            sentiment_dim=4, sentiment_epochs=1, vocab_size=300),
        "forget": ForgetSpec(hidden=(16,), n_train=300, n_eval=100, epochs_a=1, epochs_b=1),
        "gan": GANSpec(dataset="mnist5k", n_train=256, epochs=1, width=4, nz=8, n_score=64),
        "morph": MorphSpec(dataset="digits8x8", k=2, n_train=300, epochs=1),
        "overfit": OverfitSpec(dataset="mnist", n_train=200, hidden=(8,), train=TrainConfig(epochs=2, schedule="constant")),
        "sent": SentimentSpec(corpus="uci_sentences", n_train=300, n_test=100, vocab_size=300, max_len=20,
                              net=NetSpec(kind="gru", embed_dim=8, hidden=8), train=one),
        "seqae": SeqAESpec(corpus="uci_sentences", n_train=200, n_test=100, vocab_size=300, max_len=12, embed=8,
                           hidden=16, code=8, train=one),
        "tl": TransferSpec(strategy="scratch", budgets=(5, 10), steps=10, n_test=200),
        "vae": VAESpec(dataset="digits8x8", hidden=(16,), epochs=1, n_train=500, n_val=100, n_scatter=40),
        "ex": _exercise(),
    }


def _exercise():
    from dlplay.exercises import catalog
    from dlplay.exercises.lesson import FitSpec

    return FitSpec("perceptron", catalog.BY_ID["perceptron"].reference_source)


def add(root: str, pages: list[str]) -> None:
    from dlplay.runs import record
    from dlplay.runs.lesson import lesson_for
    from dlplay.runs.store import RunStore

    store, table = RunStore(root), specs()
    for page in pages:
        run, job = record.start(lesson_for(page), table[page], workspace="earlier", session_id="earlier", store=store)
        job.wait(600)
        record.RECORDER.flush(run.id)
        stored = store.get(run.id)
        print(f"{page:8s} {job.state:8s} {stored.headline} {job.error or ''}")


if __name__ == "__main__":
    add(sys.argv[1], sys.argv[2:])
