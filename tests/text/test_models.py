"""The text classifiers: parameter counts against hand formulas, output shapes, padding
invariance (packing and masking), attention weights, embed/from_embedded and bigrams."""
from __future__ import annotations

import pytest
import torch

from dlplay.models import count_parameters
from dlplay.text import models
from dlplay.text.models import NetSpec

V, C, T = 50, 3, 12  # vocabulary, classes, max_len
KINDS = ["bag", "rnn", "lstm", "gru", "bilstm", "transformer"]


def small(kind: str, **kw) -> NetSpec:
    base = dict(kind=kind, embed_dim=8, hidden=6, layers=1, dropout=0.3, heads=2, ff=16, bigrams=True)
    return NetSpec(**{**base, **kw})


def net(kind: str, seed: int = 0, **kw) -> torch.nn.Module:
    torch.manual_seed(seed)
    return models.build(small(kind, **kw), V, C, T).eval()


def batch_of(*rows: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.zeros(len(rows), width, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r)
    return ids, torch.tensor([len(r) for r in rows])


def by_hand(kind: str, layers: int, v: int, c: int, e: int, h: int) -> int:
    """Written from the textbook, not from the module: per direction and layer, g gate blocks
    each with an input matrix h×x, a recurrent matrix h×h and — in torch — two bias vectors."""
    gates = {"rnn": 1, "gru": 3, "lstm": 4, "bilstm": 4}[kind]
    dirs = 2 if kind == "bilstm" else 1
    total = v * e  # the embedding table
    for layer in range(layers):
        x = e if layer == 0 else dirs * h  # a second layer reads both directions' states
        w_ih, w_hh, b_ih, b_hh = gates * h * x, gates * h * h, gates * h, gates * h
        total += dirs * (w_ih + w_hh + b_ih + b_hh)
    return total + dirs * h * c + c  # the linear head


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru", "bilstm"])
def test_recurrent_parameter_counts_equal_the_table_and_a_hand_formula(kind, layers):
    spec = NetSpec(kind=kind, embed_dim=16, hidden=12, layers=layers)
    model = models.build(spec, 1000, 2, 64)
    table = models.recurrent_formula(spec, 1000, 2)
    assert count_parameters(model) == sum(count for _, _, count in table) == by_hand(kind, layers, 1000, 2, 16, 12)
    assert len(table) == layers + 2 and table[0][2] == 16_000


def test_the_lstm_count_spelled_out():
    # LSTM, e = 64, h = 64, one layer, 10,000 words, 2 classes:
    # 4·(64·(64+64)+64) + 4·64 = 33,024 + 256 = 33,280 in the cell; 640,000 embedding; 130 head.
    spec = NetSpec(kind="lstm", embed_dim=64, hidden=64)
    assert models.recurrent_formula(spec, 10_000, 2)[1][2] == 33_280
    assert count_parameters(models.build(spec, 10_000, 2, 200)) == 640_000 + 33_280 + 130
    bi = NetSpec(kind="bilstm", embed_dim=64, hidden=64)
    assert count_parameters(models.build(bi, 10_000, 2, 200)) == 640_000 + 2 * 33_280 + 258


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_gives_batch_by_classes_logits(kind):
    ids, lengths = batch_of([5, 6, 7], [8, 9, 10, 11, 12, 13], [14])
    out = net(kind)(ids, lengths)
    assert out.shape == (3, C) and torch.isfinite(out).all()


@pytest.mark.parametrize("kind", KINDS)
def test_an_empty_text_one_padding_token_gives_finite_logits(kind):
    """An empty review encodes as one padding token: no NaN (a transformer's row masks every key)."""
    model = net(kind)
    ids, lengths = torch.tensor([[5, 6, 7], [0, 0, 0]]), torch.tensor([3, 1])
    for training in (False, True):
        model.train(training)
        out = model(ids, lengths)
        assert torch.isfinite(out).all(), (kind, training, out)
        loss = torch.nn.functional.cross_entropy(out, torch.tensor([0, 1]))
        loss.backward()
        assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None and not p.grad.is_sparse)


@pytest.mark.parametrize("kind, extra", [(k, {}) for k in KINDS] + [
    ("lstm", {"pool": "max"}), ("bilstm", {"layers": 2}), ("gru", {"pool": "max", "layers": 2}),
    ("bilstm", {"layers": 2, "packed": True}), ("rnn", {"packed": True, "pool": "max"}),
    ("bilstm", {"pool": "max", "layers": 2}),
    ("transformer", {"positional": "learned", "layers": 2}), ("transformer", {"positional": "none"}),
    ("bag", {"bigrams": False})])
def test_a_texts_logits_do_not_depend_on_the_padding_beside_it(kind, extra):
    """Alone, or in a batch padded to a longer text: packing and masks must make no difference."""
    model = net(kind, **extra)
    short, long = [3, 17, 4, 29], [7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18]
    alone = model(*batch_of(short))
    together = model(*batch_of(long, short))
    assert torch.allclose(alone[0], together[1], atol=1e-5), (alone, together)
    assert torch.allclose(model(*batch_of(long))[0], together[0], atol=1e-5)
    # Padding columns beyond the batch's longest text change nothing either.
    ids, lengths = batch_of(long, short)
    wider = torch.cat([ids, torch.zeros(2, 1, dtype=torch.long)], 1)
    assert torch.allclose(model(wider, lengths), together, atol=1e-5)


def test_transformer_attention_rows_sum_to_1_and_padding_gets_no_weight():
    model = net("transformer", layers=2, heads=2)
    ids, lengths = batch_of([4, 5, 6, 7, 8, 9, 10], [11, 12, 13])
    model.train()
    weights = model.attention(ids, lengths)
    assert model.training, "attention() puts the model back in the mode it was in"
    assert len(weights) == 2
    for w in weights:
        assert w.shape == (2, 2, 7, 7), "(batch, heads, query, key)"
        assert torch.allclose(w.sum(-1), torch.ones(2, 2, 7), atol=1e-5)
        assert torch.all(w[1, :, :, 3:] == 0), "the short text's padding columns get zero weight"
        assert torch.all(w[1, :, :, :3] > 0)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru", "bilstm"])
@pytest.mark.parametrize("pool", ["last", "max"])
def test_the_exact_read_out_equals_packing(kind, pool):
    """Reading each text's state at its own last word (the backward direction reversed in place)
    gives what pack_padded_sequence gives, with the same weights."""
    model = net(kind, layers=2, pool=pool)
    ids, lengths = batch_of([5, 6, 7, 8, 9, 10, 11], [12, 13], [14, 15, 16, 17], [18])
    exact = model(ids, lengths)
    model.packed = True
    assert torch.allclose(model(ids, lengths), exact, atol=1e-5)


def test_a_transformer_whose_size_does_not_split_into_its_heads_is_refused_clearly():
    spec = NetSpec(kind="transformer", embed_dim=30, heads=4)
    why = spec.problem()
    assert why and "30" in why and "4 heads" in why and "multiple of 4" in why
    with pytest.raises(ValueError, match="multiple of 4"):
        models.build(spec, V, C, T)
    assert NetSpec(kind="transformer", embed_dim=32, heads=4).problem() is None
    assert "choose from" in NetSpec(kind="cnn").problem()
    with pytest.raises(ValueError, match="unknown model"):
        models.build(NetSpec(kind="cnn"), V, C, T)


@pytest.mark.parametrize("kind", KINDS)
def test_from_embedded_of_embed_equals_forward(kind):
    model = net(kind, layers=2)
    ids, lengths = batch_of([5, 6, 7, 8], [9, 10], [11, 12, 13, 14, 15, 16])
    vectors = model.embed(ids)
    assert vectors.shape == (3, 6, 8)
    assert torch.allclose(model.from_embedded(vectors, ids, lengths), model(ids, lengths), atol=1e-5)
    # Zero vectors (integrated gradients' baseline) run too and give another output.
    zeros = model.from_embedded(torch.zeros_like(vectors), ids, lengths)
    assert zeros.shape == (3, C) and not torch.allclose(zeros, model(ids, lengths), atol=1e-4)


def test_swapping_two_words_changes_the_bag_only_with_bigrams():
    text, swapped = [5, 6, 7, 8], [5, 7, 6, 8]  # "not good" vs "good not"
    with_pairs, without = net("bag", bigrams=True), net("bag", bigrams=False)
    a, b = with_pairs(*batch_of(text)), with_pairs(*batch_of(swapped))
    assert (a - b).abs().max() > 1e-2, (a, b)  # measured: the logits move by up to 0.43
    assert torch.allclose(without(*batch_of(text)), without(*batch_of(swapped)), atol=1e-6)
    # The pairs live after the V word rows; padding pairs map to the padding row.
    pairs = with_pairs.bigram_ids(batch_of([5, 6, 7], [5])[0])
    assert pairs.shape == (2, 2) and (pairs[0] >= V).all() and (pairs[1] == 0).all()
    assert with_pairs.embedding.weight.shape[0] == V + models.BIGRAM_BUCKETS
    assert without.embedding.weight.shape[0] == V


def test_the_recurrent_models_read_order_and_padding_rows_stay_zero():
    model = net("lstm")
    a, b = model(*batch_of([5, 6, 7, 8])), model(*batch_of([8, 7, 6, 5]))
    assert (a - b).abs().max() > 1e-4, "an LSTM reads the words in order"
    for kind in KINDS:
        emb = net(kind).embedding.weight
        assert torch.all(emb[0] == 0), f"{kind}: padding's vector is zero"


def test_sinusoids_are_the_vaswani_table():
    table = models.sinusoids(10, 6)
    assert table.shape == (10, 6)
    assert torch.allclose(table[0], torch.tensor([0.0, 1.0] * 3))
    assert torch.isclose(table[3, 2], torch.sin(torch.tensor(3 / 10_000 ** (2 / 6))))
    assert torch.isclose(table[3, 3], torch.cos(torch.tensor(3 / 10_000 ** (2 / 6))))
    assert models.sinusoids(4, 5).shape == (4, 5), "an odd size works too"
