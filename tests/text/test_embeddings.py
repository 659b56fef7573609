"""Word-vector geometry (dlplay.text.embeddings): neighbours, analogies and their accuracy
on hand-built tables where the answer is known, then the polarity of embeddings learned
for sentiment on the 2,500 IMDB training reviews of the shared data."""
import numpy as np
import pytest

from dlplay.text import corpus, tokens
from dlplay.text import embeddings as E


def table(rows: dict[str, list[float]], name: str = "hand-built") -> E.Embeddings:
    return E.Embeddings(list(rows), np.array(list(rows.values()), np.float32), name)


def test_neighbours_are_sorted_by_cosine_and_leave_the_word_out():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(50)]
    emb = E.Embeddings(words, rng.normal(size=(50, 8)))
    found = E.neighbours(emb, "w3", k=10)
    assert len(found) == 10 and "w3" not in [w for w, _ in found]
    sims = [s for _, s in found]
    assert sims == sorted(sims, reverse=True)
    # The same ranking by plain numpy cosine, computed independently.
    v = emb.vectors
    cos = v @ v[3] / (np.linalg.norm(v, axis=1) * np.linalg.norm(v[3]))
    cos[3] = -np.inf
    assert [w for w, _ in found] == [words[i] for i in np.argsort(-cos)[:10]]
    assert np.allclose(sims, np.sort(cos)[::-1][:10], atol=1e-5)
    assert len(E.neighbours(emb, "w3", k=500)) == 49  # never more than the other words


def test_analogy_on_hand_built_vectors_gives_the_exact_answer_and_leaves_the_inputs_out():
    # Axes royal, male, female, person: king − man + woman = (r+m) − (p+m) + (p+f) = r+f = queen.
    rows = {"king": [1, 1, 0, 0], "man": [0, 1, 0, 1], "woman": [0, 0, 1, 1], "queen": [1, 0, 1, 0],
            "apple": [0, 0, 0, 1], "prince": [0.6, 1, 0, 0.2]}
    best = E.analogy(table(rows), "king", "man", "woman", k=3)
    assert best[0][0] == "queen" and best[0][1] == pytest.approx(1.0, abs=1e-6)
    # Without queen, an input (king, woman: 0.5) would beat every other word (prince 0.36):
    # the inputs are left out.
    del rows["queen"]
    emb = table(rows)
    best = E.analogy(emb, "king", "man", "woman", k=3)
    assert not {"king", "man", "woman"} & {w for w, _ in best}
    target = emb.unit[0] - emb.unit[1] + emb.unit[2]
    scores = emb.unit @ (target / np.linalg.norm(target))
    assert scores[:3].max() > best[0][1] and best[0][1] == pytest.approx(scores[3:].max(), abs=1e-6)


def test_unknown_words_raise_a_message_naming_the_word_and_the_table():
    emb = table({"good": [1, 0], "bad": [-1, 0]}, name="Run 4 · word2vec")
    with pytest.raises(E.UnknownWord) as err:
        E.neighbours(emb, "qwzxv")
    assert "“qwzxv” is not in the vocabulary of Run 4 · word2vec" in str(err.value)
    assert E.neighbours(emb, "  GOOD ")[0][0] == "bad"  # typed with capitals and spaces: found


def test_accuracy_counts_only_the_covered_questions(tmp_path):
    path = tmp_path / "questions.txt"
    path.write_text(": capitals\nAthens Greece Paris France\nParis France Athens Greece\n"
                    "Berlin Germany Rome Italy\n"  # rome, italy unknown: not covered
                    ": plural\nCar Cars Dog Dogs\nDog Dogs Car Trucks\n", encoding="utf-8")
    emb = table({"athens": [1, 0, 0, 0], "greece": [1, 1, 0, 0], "paris": [0, 0, 1, 0], "france": [0, 1, 1, 0],
                 "berlin": [0, 0, 0, 1], "germany": [0, 1, 0, 1], "car": [1, 0, 1, 0], "cars": [1, 0.5, 1, -1],
                 "dog": [0, 1, 0, 0.3], "dogs": [0, 1.5, 0, -0.7], "trucks": [0.1, 0.1, 0.1, 0.1]})
    report = E.analogy_accuracy(emb, path)
    assert (report.total, report.covered) == (5, 4)
    capitals, plural = report.sections
    assert (capitals["section"], capitals["total"], capitals["covered"], capitals["correct"]) == ("capitals", 3, 2, 2)
    # car:cars :: dog:dogs is right; dog:dogs :: car:? answers cars, not the file's "trucks".
    assert (plural["covered"], plural["correct"]) == (2, 1)
    assert report.accuracy == pytest.approx(3 / 4)
    # Each answer is what `analogy` says, one question at a time.
    assert E.analogy(emb, "athens", "greece", "paris")[0][0] != "france"  # a − b + c is not b − a + c…
    assert E.analogy(emb, "greece", "athens", "paris")[0][0] == "france"  # …the file asks b − a + c


def test_the_questions_file_gensim_ships_is_read_by_sections():
    sections = E.read_questions()
    assert len(sections) == 14 and sections[0][0] == "capital-common-countries"
    assert sum(len(q) for _, q in sections) == 19544
    assert sections[0][1][0] == ("athens", "greece", "baghdad", "iraq")


def test_the_2d_projection_keeps_the_distances_of_words_that_lie_in_a_plane():
    rng = np.random.default_rng(1)
    plane = rng.normal(size=(2, 16))
    words = [f"w{i}" for i in range(6)]
    vecs = rng.normal(size=(6, 2)) @ plane
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)  # unit already: PCA sees exactly these points
    emb = E.Embeddings(words, vecs)
    coords, share = E.project_2d(emb, words)
    assert coords.shape == (6, 2) and share.sum() == pytest.approx(1.0, abs=1e-5)
    d_orig = np.linalg.norm(vecs[:, None] - vecs[None], axis=-1)
    d_2d = np.linalg.norm(coords[:, None] - coords[None], axis=-1)
    assert np.allclose(d_orig, d_2d, atol=1e-4)
    one, _ = E.project_2d(emb, ["w0"])
    assert one.shape == (1, 2)


def test_a_sentiment_runs_contract_vocab_and_embeddings_becomes_a_table():
    class FakeVocab:
        words = ["[PAD]", "[UNK]", "good", "bad"]

    class FakeSentimentResult:  # what dlplay.text.sentiment's result offers: .vocab, .embeddings()
        vocab = FakeVocab()

        def embeddings(self):
            return np.array([[0, 0], [9, 9], [1, 0.1], [-1, 0.1]], np.float32)

    emb = E.Embeddings.from_result(FakeSentimentResult(), "Run 2 · sentiment model")
    assert emb.words == ["good", "bad"] and emb.name == "Run 2 · sentiment model"  # [PAD] and [UNK] left out
    assert E.polarity(emb, ["good", "bad"]).tolist() == pytest.approx([0.995, -0.995], abs=1e-3)


@pytest.fixture(scope="module")
def sentiment():
    data = corpus.load("imdb")  # 2,500 training reviews in the shared data
    vocab = tokens.vocab_for(data.train_texts, 20_000, "imdb")
    report = {}
    vectors = E.sentiment_embedding(data.train_texts, data.train_labels, vocab, report=report)
    return E.Embeddings.of(vocab.words, vectors, "sentiment"), report, vocab, data


def test_embeddings_learned_for_sentiment_separate_polarity(sentiment):
    emb, report, vocab, data = sentiment
    # The classifier learned: measured 0.93 training and 0.80 test accuracy after 3 epochs.
    assert report["train_acc"][-1] > 0.85
    assert E.bag_accuracy(report["model"], vocab, data.test_texts, data.test_labels) > 0.72
    great, excellent, bad, awful = E.polarity(emb, ["great", "excellent", "bad", "awful"])
    # Measured (cosine with good − bad): great 0.81, excellent 0.76, bad −0.81, awful −0.82.
    assert min(great, excellent) > 0.4 and max(bad, awful) < -0.4
    # Held-out opinion words (neither good nor bad): measured 1.0 of the pairs in the right order.
    assert E.separation(emb, E.POSITIVE_WORDS, E.NEGATIVE_WORDS) > 0.9
    # Polarity is what its neighbourhoods hold: awful's nearest words are negative ones
    # (measured: stupid, dull, annoying, barely, inept, no).
    near = [w for w, _ in E.neighbours(emb, "awful", 10)]
    assert len(set(near) & {"stupid", "dull", "annoying", "inept", "worst", "terrible", "boring", "waste",
                            "horrible", "poorly", "lame", "bad", "worse", "mess", "pointless"}) >= 3, near


def test_but_they_answer_almost_no_analogy(sentiment):
    emb = sentiment[0]
    report = E.analogy_accuracy(emb)
    # Measured: 0 or 1 right of the 5,468 questions the 15,423-word vocabulary covers.
    assert report.covered > 5000
    assert report.accuracy < 0.005
