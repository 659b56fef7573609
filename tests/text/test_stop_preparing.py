"""Stop while a text run prepares its data (issue 25, finding 4): the job says what it is doing
("learning the vocabulary…", "encoding 22,500 training reviews: 40 %") and Stop ends it within
seconds — sentiment waited for the whole tokenisation, word2vec for the end of an epoch (26 s),
and a stopped run then scored every test text (70 s for the sequence autoencoder at its largest)."""
from __future__ import annotations

import time

import pytest
import torch

from dlplay import train
from dlplay.jobs import CANCELLED, STOPPED, Scheduler
from dlplay.text import batches, corpus

SEEN_WITHIN_S = 5.0  # Stop → the job has ended


@pytest.fixture
def sched():
    s = Scheduler(max_workers=1)
    yield s
    s.shutdown(timeout=60)


def stop_when(job, words: str, timeout: float = 180) -> list[str]:
    """Wait until the job's status says `words`, press Stop; the statuses seen on the way."""
    seen, deadline = [], time.time() + timeout
    while time.time() < deadline and job.is_active:
        if not seen or seen[-1] != job.status:
            seen.append(job.status)
        if words in job.status:
            job.cancel()
            return seen
        time.sleep(0.02)
    pytest.fail(f"the job never said {words!r}; it said {seen} and is {job.state} ({job.error})")


def ended_within(job, seconds: float) -> float:
    t0 = time.perf_counter()
    assert job.wait(60), "the job did not end within a minute of Stop"
    took = time.perf_counter() - t0
    assert took < seconds, f"the job ended {took:.1f} s after Stop"
    return took


@pytest.fixture(scope="module")
def imdb_csv():
    return corpus.load("imdb_csv")  # the full 25,000 + 25,000 reviews, read once for the module


@pytest.mark.slow
def test_sentiment_says_what_it_prepares_and_stops_while_encoding(sched, imdb_csv):
    from dlplay.text.sentiment import SentimentSpec, train_sentiment

    spec = SentimentSpec(corpus="imdb_csv", vocab_size=19_991, max_len=400)  # a vocabulary no test has cached
    job = sched.submit(lambda j: train_sentiment(spec, j), session_id="s", name="sentiment")
    seen = stop_when(job, "encoding 22,500 training reviews: 4")
    ended_within(job, SEEN_WITHIN_S)
    assert job.state == CANCELLED and not job.metrics()
    assert any(s.startswith("learning the vocabulary from 22,500 reviews: ") for s in seen), seen


def test_sentiment_stops_while_learning_its_vocabulary(sched, imdb_csv):
    from dlplay.text.sentiment import SentimentSpec, train_sentiment

    spec = SentimentSpec(corpus="imdb_csv", vocab_size=19_993)
    job = sched.submit(lambda j: train_sentiment(spec, j), session_id="s", name="sentiment")
    stop_when(job, "learning the vocabulary from 22,500 reviews: 2")
    ended_within(job, SEEN_WITHIN_S)
    assert job.state == CANCELLED


@pytest.mark.slow
def test_sequence_autoencoder_stops_while_encoding(sched, imdb_csv):
    from dlplay.text.seqae import SeqAESpec, train_seqae

    spec = SeqAESpec(corpus="imdb_csv", n_train=0, vocab_size=9_991, max_len=60)
    job = sched.submit(lambda j: train_seqae(spec, j), session_id="s", name="seqae")
    stop_when(job, "encoding 24,500 training texts: 3")
    ended_within(job, SEEN_WITHIN_S)
    assert job.state == CANCELLED


@pytest.mark.slow
def test_word2vec_stops_inside_an_epoch_and_keeps_its_vectors(sched, imdb_csv):
    from dlplay.text.word2vec import Word2VecSpec, train_word2vec

    spec = Word2VecSpec(corpus="imdb_csv", epochs=20, sentiment=False)
    job = sched.submit(lambda j: train_word2vec(spec, j), session_id="s", name="w2v")
    stop_when(job, "word2vec epoch 1/20")  # after the first epoch: a whole one takes 10-30 s here
    time.sleep(1.0)  # well inside the second epoch
    took = ended_within(job, SEEN_WITHIN_S + 5)  # the analogy questions are scored after it (3-4 s)
    assert job.state == STOPPED and job.result.stopped.startswith("stopped during epoch 2 of 20"), job.result.stopped
    assert len(job.result.words) > 1000, took


class Pressed:
    stop_requested = True


def test_scoring_after_stop_is_a_random_part_within_its_budget():
    lengths = torch.randint(1, 50, (1000,))
    everything = torch.cat(list(batches.scoring(lengths, 32))).sort().values
    assert torch.equal(everything, torch.arange(1000))  # no Stop: every text once
    part = list(batches.scoring(lengths, 256, Pressed(), budget_s=0.0))
    assert len(part) == 1 and len(part[0]) == train.STOPPED_BATCH  # Stop, no time left: one small batch
    first = torch.cat(list(batches.scoring(lengths, 256)))[:train.STOPPED_BATCH]
    assert torch.equal(part[0], first) and first.max() > 100  # a random batch, not the first texts


def test_a_stopped_sentiment_run_is_tested_on_a_random_part(monkeypatch):
    from dlplay.text import fitting, models
    from dlplay.text.sentiment import SentimentSpec, prepare

    spec = SentimentSpec(corpus="imdb", n_train=500, n_test=2000, net=models.NetSpec(kind="bag"))
    p = prepare(spec)
    model = models.build(spec.net, p.vocab.size, 2, spec.max_len)
    monkeypatch.setattr(train, "STOPPED_SCORING_S", 0.0)
    whole = fitting.evaluate(model, p.test)
    stopped = fitting.evaluate(model, p.test, batch_size=256, job=Pressed())
    assert whole["n"] == 2000 and stopped["n"] == train.STOPPED_BATCH
    assert stopped["probs"].shape == (2000, 2)
