"""Word-level tokenisation of real reviews: special ids, round trips with spans into the
original text, unknown, empty and huge texts, and the vocabulary cache."""
from __future__ import annotations

import re
import time

import pytest

from dlplay.data import cache_dir
from dlplay.text import corpus, tokens
from dlplay.text.tokens import PAD_ID, UNK_ID

HUGE = ("The first act is slow. " + "This movie was great, really wonderful! " * 2600)[:100_000]


@pytest.fixture(scope="module")
def imdb():
    return corpus.load("imdb")


@pytest.fixture(scope="module")
def vocab(imdb):
    return tokens.vocab_for(imdb.train_texts, 5000, "test-imdb")


def words_of(text: str) -> list[str]:
    """What the tokenizer should make of plain ASCII text: lower-cased words and runs of punctuation."""
    return re.findall(r"\w+|[^\w\s]+", text.lower())


def test_the_vocabulary_of_real_reviews_has_pad_0_unk_1_and_at_most_vocab_size_words(vocab):
    assert vocab.words[PAD_ID] == "[PAD]" and vocab.words[UNK_ID] == "[UNK]"
    assert vocab.size == 5000 == len(vocab.words), "2,500 reviews hold far more than 5,000 words"
    assert vocab.words[2:5] == ["the", ".", ","], "then by frequency"
    assert len(set(vocab.words)) == vocab.size
    assert vocab.id("GREAT") == vocab.id("great") != UNK_ID
    assert vocab.id("zorblaxian") == UNK_ID
    small = tokens.train_vocab(["a b c a b", "a b d"], 100)
    assert small.size == 4, "min_frequency 2: [PAD], [UNK], a, b — c and d were seen once"


def test_decode_of_encode_gives_the_normalised_words_and_spans_index_the_text(vocab):
    text = "This film is GREAT, and the acting... well, I loved it!"
    words = words_of(text)
    piece = vocab.piece(text)
    assert UNK_ID not in piece.ids, "every word of this sentence is among the 5,000"
    assert piece.words == words and not piece.truncated and piece.n_unknown == 0
    assert vocab.decode(piece.ids) == " ".join(words)
    assert [text[a:b].lower() for a, b in piece.spans] == words
    enc = vocab.encode([text], [1], max_len=32)
    assert enc.ids.shape == (1, 32) and int(enc.lengths[0]) == len(words) and enc.truncated == 0
    assert enc.ids[0, :len(words)].tolist() == piece.ids and not enc.ids[0, len(words):].any()
    assert vocab.decode(enc.ids[0]) == " ".join(words), "padding is left out"
    assert enc.labels.tolist() == [1]


def test_accents_are_stripped_and_spans_still_index_the_original_text(vocab):
    text = "  Café  noir:\tthe Movie  "
    piece = vocab.piece(text)
    assert piece.words[1:] == ["noir", ":", "the", "movie"] and vocab.id("café") == vocab.id("cafe")
    assert [text[a:b] for a, b in piece.spans] == ["Café", "noir", ":", "the", "Movie"]


def test_unknown_words_read_as_unk_and_are_counted(vocab):
    text = "The zorblaxian film was qwertyuiopy good"
    piece = vocab.piece(text)
    assert piece.ids[1] == piece.ids[4] == UNK_ID and piece.words[1] == "[UNK]"
    assert piece.n_unknown == 2 and len(piece.ids) == 6
    assert text[slice(*piece.spans[1])] == "zorblaxian", "an unknown word still has its place in the text"
    assert vocab.encode([text]).ids[0, :6].tolist() == piece.ids


def test_an_empty_text_has_no_ids_and_encodes_as_one_padding_token(vocab):
    for text in ("", "   \n\t "):
        piece = vocab.piece(text, 100)
        assert piece.ids == [] and piece.words == [] and piece.spans == [] and piece.n_unknown == 0
    enc = vocab.encode(["", "good"], [0, 1], max_len=8)
    assert enc.lengths.tolist() == [1, 1], "at least 1: a packed RNN cannot read length 0"
    assert not enc.ids[0].any() and enc.ids[1, 0] == vocab.id("good")


def test_a_100000_character_text_encodes_fast_and_is_cut_at_the_start_or_end(vocab):
    full = vocab.piece(HUGE)
    assert len(full.ids) == len(words_of(HUGE)) == 20_002
    t0 = time.perf_counter()
    start, end = vocab.piece(HUGE, 200, "start"), vocab.piece(HUGE, 200, "end")
    enc_start = vocab.encode([HUGE, "short review"], max_len=200, keep="start")
    enc_end = vocab.encode([HUGE], max_len=200, keep="end")
    seconds = time.perf_counter() - t0
    assert seconds < 1.0, f"{seconds:.2f} s (measured 0.06 s)"
    assert start.truncated and end.truncated and len(start.ids) == len(end.ids) == 200
    assert start.ids == full.ids[:200] and end.ids == full.ids[-200:]
    assert start.words[:5] == ["the", "first", "act", "is", "slow"] and "slow" not in end.words
    assert end.spans[-1][1] <= len(HUGE) and end.spans[0] == full.spans[-200]
    assert enc_start.truncated == 1 and enc_end.truncated == 1, "the short review is not counted"
    assert enc_start.ids[0].tolist() == start.ids and enc_end.ids[0].tolist() == end.ids
    assert enc_start.lengths.tolist() == [200, 2]


def test_vocab_for_caches_in_memory_and_on_disk(imdb, tmp_path, monkeypatch):
    monkeypatch.setenv("DLPLAY_CACHE_DIR", str(tmp_path))
    texts = imdb.train_texts[:800]
    first = tokens.vocab_for(texts, 2000, "cache-test")
    assert tokens.vocab_for(texts, 2000, "cache-test") is first, "the same texts: the vocabulary in memory"
    files = list((cache_dir() / "tokenizers").glob("cache-test-2000-*.json"))
    assert len(files) == 1

    # As a fresh process would: nothing in memory, so the JSON file is read, never retrained.
    for key in [k for k in tokens._memo if k.startswith("cache-test-")]:
        del tokens._memo[key]

    def no_training(*args, **kwargs):
        raise AssertionError("retrained although the cache file was there")

    monkeypatch.setattr(tokens, "train_vocab", no_training)
    again = tokens.vocab_for(texts, 2000, "cache-test")
    assert again is not first and again.words == first.words
    assert again.piece("a great film").ids == first.piece("a great film").ids

    # Other texts or another size make another vocabulary.
    monkeypatch.undo()
    monkeypatch.setenv("DLPLAY_CACHE_DIR", str(tmp_path))
    other = tokens.vocab_for(imdb.train_texts[800:1600], 2000, "cache-test")
    assert other.words != first.words
    assert len(list((tmp_path / "tokenizers").glob("cache-test-2000-*.json"))) == 2


def test_a_broken_cache_file_is_rebuilt(imdb, tmp_path, monkeypatch):
    monkeypatch.setenv("DLPLAY_CACHE_DIR", str(tmp_path))
    texts = imdb.train_texts[:300]
    good = tokens.vocab_for(texts, 500, "broken-test")
    (path,) = (tmp_path / "tokenizers").glob("broken-test-*.json")
    tokens._memo.clear()
    path.write_text("{ not json")
    rebuilt = tokens.vocab_for(texts, 500, "broken-test")
    assert rebuilt.words == good.words
    assert tokens.Vocab(tokens.Tokenizer.from_file(str(path))).words == good.words, "the file was rewritten"


def test_coverage_is_the_share_of_known_words(vocab, imdb):
    train, test = vocab.coverage(imdb.train_texts), vocab.coverage(imdb.test_texts)
    assert 0.85 < test < train < 1.0, (train, test)  # measured: test 0.906 (train higher: its own words)
    assert vocab.coverage(["zorblaxian qwertyuiopy"]) == 0.0
    assert vocab.coverage(["the film , the film"]) == 1.0
    assert vocab.coverage(["the zorblaxian"]) == 0.5
    assert vocab.coverage([""]) == 1.0, "no words, nothing unknown (and no division by zero)"
