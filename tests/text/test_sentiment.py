"""The sentiment lesson on the real 2,500/2,500 IMDB subset in ../shared/data: every model
learns, the comparison table counts parameters as the hand formula does, runs store and reload."""
from dataclasses import replace
from types import SimpleNamespace

import pytest

from dlplay.runs import specs
from dlplay.runs.lesson import Saved
from dlplay.text import explain
from dlplay.text.models import NetSpec
from dlplay.text.sentiment import SentimentSpec, load_result, save_result, table, train_sentiment
from tests.conftest import need_shared

# Each test here trains on real data (a module fixture of several seconds): the full suite only.
pytestmark = pytest.mark.slow

# Each model at settings that train in seconds (100 words, 4 epochs; 3 for the slower
# bidirectional LSTM), and the test accuracy it must reach on the 2,500 test reviews.
# Measured, seeds 0 and 1: bag 79.9 / 79.6 %, RNN 64.2 / 65.5 %, LSTM 74.4 / 71.7 %,
# GRU 73.4 / 72.2 %, BiLSTM 71.4 / 71.4 %, Transformer 68.3 / 67.8 %. One run's standard
# error on 2,500 reviews is about 0.9 points and seeds moved results by up to 2.7; each
# threshold sits 4-5 points under the lowest measured — still at least 10 standard errors
# above the 50 % of a coin. The order is the lesson's: on 2,250 training reviews the bag of
# words and pairs wins, the gated cells beat the simple RNN, the Transformer needs more data.
MODELS = {
    "bag": (NetSpec(kind="bag"), 3e-3, 4, 0.75),
    "rnn": (NetSpec(kind="rnn", pool="max"), 1e-2, 4, 0.60),
    "lstm": (NetSpec(kind="lstm", pool="max"), 1e-2, 4, 0.67),
    "gru": (NetSpec(kind="gru", pool="max"), 1e-2, 4, 0.67),
    "bilstm": (NetSpec(kind="bilstm", pool="max"), 1e-2, 3, 0.66),
    "transformer": (NetSpec(kind="transformer"), 3e-3, 4, 0.63),
}


def spec_for(kind: str, **train) -> SentimentSpec:
    net, lr, epochs, _ = MODELS[kind]
    return SentimentSpec(max_len=100, net=net,
                         train=replace(SentimentSpec().train, **{"lr": lr, "epochs": epochs, **train}))


@pytest.fixture(scope="module")
def lstm():
    need_shared("aclImdb", "train")
    return train_sentiment(spec_for("lstm"))


@pytest.mark.parametrize("kind", [k for k in MODELS if k != "lstm"])
def test_each_model_learns_the_subset(kind):
    need_shared("aclImdb", "train")
    r = train_sentiment(spec_for(kind))
    assert r.test_acc >= MODELS[kind][3], f"{kind}: {r.test_acc:.1%}"
    assert r.n_train == 2250 and r.n_test == 2500 and len(r.rows) == MODELS[kind][2]
    assert "IMDB reviews: 2,500 training and 2,500 test texts" in r.source


def test_the_lstm_learns_and_its_table_row_counts_parameters_by_hand(lstm):
    assert lstm.test_acc >= MODELS["lstm"][3], f"{lstm.test_acc:.1%}"
    assert lstm.rows[-1]["val_acc"] > 0.6 and lstm.rows[-1]["train_acc"] > lstm.rows[0]["train_acc"]
    saved = save_result(lstm)
    run = SimpleNamespace(id=3, brief="", state="done", spec=specs.to_dict(lstm.spec), summary=saved.summary)
    row = table([run]).iloc[0]
    v, e, h = lstm.vocab.size, 64, 64
    assert row["parameters"] == lstm.n_params == v * e + 4 * (h * (h + e) + h) + 4 * h + (h + 1) * 2
    assert row["parameters by hand"] == row["parameters"] and row["model"] == "LSTM"
    assert row["test acc"] == lstm.test_acc and row["s / epoch"] > 0


def test_a_stored_run_reloads_with_its_vocabulary_and_reads_alike(lstm):
    saved = save_result(lstm)
    again = load_result(lstm.spec, Saved(saved.tensors, saved.arrays, saved.summary, saved.headline))
    text = "A dull, lifeless film with a plot full of holes. I wanted to leave."
    a, b = explain.read(lstm, text), explain.read(again, text)
    assert a.piece.ids == b.piece.ids and a.probs.tolist() == pytest.approx(b.probs.tolist(), abs=1e-6)
    assert (again.embeddings() == lstm.embeddings()).all() and again.embeddings().shape == (lstm.vocab.size, 64)
    assert a.probs[0] > 0.5, "a plainly negative review reads negative"


def test_early_stopping_keeps_the_best_epoch_and_all_data_can_train():
    need_shared("aclImdb", "train")
    # Bag at a high rate overfits 2,250 reviews within a few epochs: validation loss turns up.
    spec = spec_for("bag", early_stopping=1, epochs=8, lr=1e-2, schedule="constant")
    r = train_sentiment(spec)
    losses = [row["val_loss"] for row in r.rows]
    assert len(r.rows) < 8, f"early stopping ended the run: {losses}"
    assert r.best_epoch == losses.index(min(losses)) + 1, "the weights of the best epoch are kept"
    every = train_sentiment(replace(spec_for("bag"), val_share=0.0, n_train=1000, n_test=500))
    assert every.n_train == 1000 and "val_acc" not in every.rows[-1]
