"""2-D playground: datasets, features, network, URL state, pictures, and the page (AppTest)."""
from __future__ import annotations

import base64
import io
import json
import re
from urllib.parse import parse_qsl, urlencode

import numpy as np
import pytest
from PIL import Image

from dlplay.playground import Playground, PlaygroundState, datasets, features, render
from dlplay.playground.net import ACTIVATIONS, Network

PAGE = "pages/playground/playground.py"


# --- learning -----------------------------------------------------------------------------------
def test_spiral_learned_by_default_deep_setup():
    """The default network (8-8-5 tanh, X₁ X₂ sin X₁ sin X₂, lr 0.03, batch 10) learns the spiral."""
    sim = Playground(PlaygroundState().replace(dataset="spiral"))
    start = sim.test_loss
    sim.step(300)
    assert start > 0.4  # an untrained net is no better than guessing (±1 labels: ½·1² ≈ 0.5)
    assert sim.test_loss < 0.1, sim.history[-1]
    accuracy = np.mean(np.sign(sim.net.predict(sim.test_x)) == sim.test_y)
    assert accuracy > 0.95


@pytest.mark.parametrize("name", ["circle", "xor", "gauss", "reg-plane"])
def test_other_datasets_learned(name):
    sim = Playground(PlaygroundState().replace(dataset=name))
    sim.step(60)
    assert sim.test_loss < 0.05, (name, sim.history[-1])


def test_no_hidden_layer_cannot_learn_xor_but_x1x2_feature_can():
    linear = Playground(PlaygroundState().replace(dataset="xor", network_shape=(), features=("x", "y")))
    linear.step(100)
    product = Playground(PlaygroundState().replace(dataset="xor", network_shape=(), features=("xTimesY",)))
    product.step(100)
    assert linear.test_loss > 0.3
    assert product.test_loss < 0.1


def test_regularization_shrinks_weights_and_l1_zeros_some():
    base = PlaygroundState().replace(dataset="gauss", features=tuple(features.FEATURES))
    norms = {}
    for reg in ("none", "L1", "L2"):
        sim = Playground(base.replace(regularization=reg, regularization_rate=0.03))
        sim.step(100)
        w = np.concatenate([w.ravel() for w in sim.net.weights])
        norms[reg] = (np.abs(w).sum(), np.mean(w == 0))
    assert norms["L2"][0] < 0.8 * norms["none"][0]
    assert norms["L1"][0] < 0.5 * norms["none"][0]
    assert norms["L1"][1] > 0.2 and norms["none"][1] == 0  # L1 switches links off exactly


@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_gradients_match_finite_differences(act):
    rng = np.random.default_rng(0)
    net = Network(3, [5, 4], act, "tanh", seed=3)
    x, y = rng.normal(size=(9, 3)), rng.choice([-1.0, 1.0], 9)
    grads_w, grads_b = net.gradients(x, y)
    eps = 1e-6
    for params, grads in ((net.weights, grads_w), (net.biases, grads_b)):
        for p, g in zip(params, grads):
            for idx in [tuple(rng.integers(0, n) for n in p.shape) for _ in range(3)]:
                old = p[idx]
                p[idx] = old + eps
                up = net.loss(x, y)
                p[idx] = old - eps
                down = net.loss(x, y)
                p[idx] = old
                assert g[idx] == pytest.approx((up - down) / (2 * eps), abs=1e-7)


def test_divergence_is_a_message_not_an_exception():
    sim = Playground(PlaygroundState().replace(dataset="reg-plane", activation="linear", learning_rate=3.0))
    sim.step(3)
    assert sim.error and "Lower the learning rate" in sim.error
    epoch = sim.epoch
    sim.play(0.05)
    assert sim.epoch == epoch  # stopped, waiting for Reset
    assert sim.reset().error is None


def test_divergence_message_and_losses_shown_agree():
    """Was: the message quoted the loss of the epoch that blew up (1.4e+202) while the losses
    shown were still those of epoch 0."""
    sim = Playground(PlaygroundState().replace(dataset="reg-plane", learning_rate=10.0))
    sim.step()
    assert sim.error
    loss, epoch = re.search(r"reached (\S+) at epoch (\d+)", sim.error).groups()
    assert int(epoch) == sim.epoch == 1
    assert float(loss) == pytest.approx(sim.train_loss, rel=1e-2) and sim.train_loss > 1e6
    assert sim.history[-1][0] == 0, "the chart keeps the finite losses only"


def test_live_settings_keep_the_run_and_others_reset_it():
    sim = Playground(PlaygroundState())
    sim.step(3)
    same = sim.sync(sim.state.replace(learning_rate=0.1, batch_size=5, regularization="L2"))
    assert same is sim and sim.epoch == 3 and sim.state.learning_rate == 0.1
    fresh = sim.sync(sim.state.replace(network_shape=(2,)))
    assert fresh is not sim and fresh.epoch == 0 and fresh.net.shape == [4, 2, 1]


def test_play_is_time_boxed():
    sim = Playground(PlaygroundState())
    assert sim.play(0.0) == 1
    assert sim.play(10.0, max_epochs=5) == 5
    assert sim.epoch == 6 and [h[0] for h in sim.history] == list(range(7))


# --- datasets and features ------------------------------------------------------------------------
@pytest.mark.parametrize("name", datasets.CLASSIFICATION)
def test_classification_sets_shape_and_balance(name):
    pts, y = datasets.generate(name, 0.0, seed=5)
    assert pts.shape == (500, 2) and y.shape == (500,)
    assert set(np.unique(y)) == {-1.0, 1.0}
    balance = np.mean(y == 1)
    assert balance == 0.5 if name != "xor" else 0.4 < balance < 0.6
    assert np.abs(pts).max() <= 6.0 if name != "gauss" else True


def test_classification_geometry_without_noise():
    pts, y = datasets.generate("circle", 0.0, seed=1)
    r = np.hypot(*pts.T)
    assert np.all(r[y == 1] < 2.5) and np.all(r[y == -1] >= 3.5)
    pts, y = datasets.generate("xor", 0.0, seed=1)
    assert np.all(np.sign(pts[:, 0] * pts[:, 1]) == y) and np.abs(pts).min() >= 0.3
    pts, y = datasets.generate("gauss", 0.0, seed=1)
    assert np.allclose(pts[y == 1].mean(0), [2, 2], atol=0.2) and np.allclose(pts[y == -1].mean(0), [-2, -2], atol=0.2)
    pts, y = datasets.generate("spiral", 0.0, seed=1)
    assert np.hypot(*pts.T).max() < 5.0


def test_noise_flips_labels_near_the_boundary():
    pts, y = datasets.generate("circle", 0.5, seed=1)
    r = np.hypot(*pts.T)
    wrong = np.mean((r < 2.5) != (y == 1))
    assert 0.1 < wrong < 0.5


@pytest.mark.parametrize("name", datasets.REGRESSION)
def test_regression_sets(name):
    pts, y = datasets.generate(name, 0.0, seed=2)
    assert pts.shape == (1200, 2) and y.shape == (1200,)
    assert y.min() >= -1.2 and y.max() <= 1.2 and y.std() > 0.1
    if name == "reg-plane":
        assert np.allclose(y, pts.sum(1) / 10)
    else:  # ±1 at the bump centres, 0 far from all of them
        centre = datasets._bump_label(np.array([[-4, 2.5], [0, 2.5], [0, -2.5], [-2, 0]]))
        assert np.allclose(centre, [1, -1, 1, 0])


def test_seed_reproduces_and_split_follows_ratio():
    a, b, c = (datasets.generate("spiral", 0.2, seed=s) for s in (3, 3, 4))
    assert np.array_equal(a[0], b[0]) and not np.array_equal(a[0], c[0])
    (train, _), (test, _) = datasets.split(*a, 30)
    assert len(train) == 150 and len(test) == 350


def test_features_formulas_and_order():
    pts = np.array([[1.0, 2.0], [-3.0, 0.5]])
    x = features.compute(pts, ["sinY", "x", "xTimesY"])  # any order in, the playground's order out
    assert np.allclose(x, [[1, 2, np.sin(2)], [-3, -1.5, np.sin(0.5)]])
    full = features.compute(pts, features.FEATURES)
    assert np.allclose(full[0], [1, 2, 1, 4, 2, np.sin(1), np.sin(2)])
    assert features.compute(pts, []).shape == (2, 0)


# --- the URL state ------------------------------------------------------------------------------------
def test_state_round_trips_through_a_query_string():
    s = PlaygroundState().replace(dataset="reg-gauss", noise=35, perc_train=70, batch_size=23,
                                  features=("xSquared", "sinY"), network_shape=(3, 1, 8, 2, 5, 6),
                                  activation="relu", learning_rate=0.003, regularization="L1",
                                  regularization_rate=0.3, seed=4242, show_test_data=True, discretize=True)
    url = urlencode(s.to_query())
    assert "regDataset=reg-gauss" in url and "problem=regression" in url and "networkShape=3%2C1%2C8%2C2%2C5%2C6" in url
    assert PlaygroundState.from_query(dict(parse_qsl(url))) == s
    assert PlaygroundState.from_query(PlaygroundState().to_query()) == PlaygroundState()
    assert PlaygroundState.from_query({}) == PlaygroundState()
    flat = PlaygroundState().replace(network_shape=(), features=())
    assert PlaygroundState.from_query(dict(parse_qsl(urlencode(flat.to_query()), keep_blank_values=True))) == flat


def test_state_reads_a_tensorflow_playground_link():
    tf_hash = ("activation=relu&batchSize=17&dataset=xor&regDataset=reg-plane&learningRate=0.1&"
               "regularizationRate=0.001&noise=15&networkShape=6,3&seed=0.31417&showTestData=true&"
               "discretize=false&percTrainData=40&x=true&y=false&xTimesY=true&xSquared=false&ySquared=false&"
               "cosX=false&sinX=false&cosY=false&sinY=true&collectStats=false&problem=classification&"
               "initZero=false&hideText=false")
    s = PlaygroundState.from_query(dict(parse_qsl(tf_hash)))
    assert (s.dataset, s.activation, s.batch_size, s.learning_rate, s.noise, s.perc_train) == \
        ("xor", "relu", 17, 0.1, 15, 40)
    assert s.network_shape == (6, 3) and s.features == ("x", "xTimesY", "sinY") and s.show_test_data
    assert s.regularization_rate == 0.001 and s.seed == PlaygroundState.from_query({"seed": "0.31417"}).seed


def test_bad_query_values_fall_back_or_are_clamped():
    s = PlaygroundState.from_query({"dataset": "moons", "learningRate": "banana", "networkShape": "12,0,3,3,3,3,3",
                                    "noise": "13", "batchSize": "99", "activation": "gelu", "seed": "-5"})
    d = PlaygroundState()
    assert (s.dataset, s.learning_rate, s.activation) == (d.dataset, d.learning_rate, d.activation)
    assert s.network_shape == (8, 1, 3, 3, 3, 3) and s.noise == 15 and s.batch_size == 30
    assert PlaygroundState.from_query({"networkShape": ""}).network_shape == ()  # no hidden layer, as in the playground
    assert PlaygroundState.from_query({"problem": "regression"}).dataset == "reg-plane"
    assert PlaygroundState.from_query({"regDataset": "reg-gauss"}).dataset == "reg-gauss"
    assert PlaygroundState.from_query({"networkShape": "x"}).network_shape == d.network_shape
    assert PlaygroundState.from_query({"learningRate": "0.04"}).learning_rate == 0.03  # nearest menu value



# Everything a URL can carry that is no setting: non-finite, huge, negative, wrong type, overlong.
WORST = ["inf", "-inf", "nan", "NaN", "Infinity", "1e308", "-1e308", "1e999", "1" + "0" * 400, "10**400",
         "-1", "-99999999", "-0", "1e-400", "abc", "", "   ", "None", "[1, 2]", "0x10", "½", "١٢", "\x00",
         "1,2,x", ",,,", "nan,inf,-1", "1e308,1e308", "-5,-5,-5,-5,-5,-5,-5,-5", "x" * 100_000,
         "9" * 5000, "1," * 50_000, ["inf", "nan"], [], 3.5, float("inf"), float("nan"), 10 ** 400, None, -7]
URL_KEYS = ["problem", "dataset", "regDataset", "noise", "percTrainData", "batchSize", "networkShape",
            "activation", "learningRate", "regularization", "regularizationRate", "seed", "showTestData",
            "discretize", *features.FEATURES]


def _valid(s: PlaygroundState) -> bool:
    """Every value is one the controls offer."""
    from dlplay.playground.state import LEARNING_RATES, MAX_LAYERS, MAX_NEURONS, REG_RATES

    return (s.dataset in datasets.DATASETS and s.noise in range(0, 51, 5) and s.perc_train in range(10, 91, 10)
            and 1 <= s.batch_size <= 30 and len(s.network_shape) <= MAX_LAYERS
            and all(1 <= n <= MAX_NEURONS for n in s.network_shape) and s.activation in ACTIVATIONS
            and s.learning_rate in LEARNING_RATES and s.regularization_rate in REG_RATES
            and 0 <= s.seed < 100_000 and set(s.features) <= set(features.FEATURES))


@pytest.mark.parametrize("key", URL_KEYS)
def test_every_url_parameter_survives_the_worst_values(key):
    d = PlaygroundState()
    for value in WORST:
        s = PlaygroundState.from_query({key: value})
        assert _valid(s), (key, str(value)[:40], s)
        if key in ("noise", "learningRate", "regularizationRate", "batchSize", "percTrainData") and \
                str(value).strip().lower().lstrip("-") in ("inf", "nan", "infinity", "1e999"):
            assert s == d, f"{key}={value}: a non-finite value keeps the default"


def test_noise_inf_no_longer_raises_and_huge_values_clamp():
    d = PlaygroundState()
    assert PlaygroundState.from_query({"noise": "inf"}) == d  # was OverflowError
    assert PlaygroundState.from_query({"learningRate": "nan"}).learning_rate == d.learning_rate
    assert PlaygroundState.from_query({"noise": "1e308"}).noise == 50
    assert PlaygroundState.from_query({"batchSize": "-1e308"}).batch_size == 1
    assert PlaygroundState.from_query({"networkShape": "1e308,-5"}).network_shape == (8, 1)
    assert PlaygroundState.from_query({"networkShape": "4,nan"}).network_shape == d.network_shape
    assert PlaygroundState.from_query({"learningRate": "1e308"}).learning_rate == 10.0
    assert PlaygroundState.from_query({"seed": "x" * 100_000}) == d  # overlong: ignored
    assert PlaygroundState.from_query({"noise": ["5", "40"]}).noise == 40  # the last of repeated values


def test_all_worst_values_at_once():
    for i in range(len(WORST)):
        q = {key: WORST[(i + j) % len(WORST)] for j, key in enumerate(URL_KEYS)}
        assert _valid(PlaygroundState.from_query(q))
    assert PlaygroundState.from_query(None) == PlaygroundState()
    assert PlaygroundState.from_query([("noise", "inf")]) == PlaygroundState()


# --- pictures ---------------------------------------------------------------------------------------------
def _png(uri: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))


def test_colours_are_the_playgrounds():
    assert render.color(-1) == "#f59322" and render.color(1) == "#0877bd" and render.color(0) == "#e8eaeb"
    assert render.color(float("nan")) == "#e8eaeb"
    assert np.array_equal(render.colorize(np.array([[-0.2, 0.3]]), discretize=True)[0], [render.ORANGE, render.BLUE])


def test_frame_draws_every_neuron_and_point():
    s = PlaygroundState().replace(dataset="spiral", network_shape=(3, 2), show_test_data=True)
    sim = Playground(s)
    sim.step(20)
    pics = render.frame(sim)
    net = pics["network"]
    assert net.count("<title>layer 1, neuron") == 3 and net.count("<title>layer 2, neuron") == 2
    assert net.count("<title>weight") == 4 * 3 + 3 * 2 + 2 * 1
    sheet = _png(re.search(r"href='(data:image/png;base64,[^']+)'", net).group(1))
    assert sheet.shape[2] == 4 and (sheet[..., 3] == 255).sum() == (4 + 3 + 2 + 1) * render.TILE_DENSITY ** 2
    heat = pics["heatmap"]
    assert heat.count("<circle") == 500 and "stroke='#000'" in heat  # train + test points
    img = _png(re.search(r"href='(data:image/png;base64,[^']+)'", heat).group(1))
    assert img.shape == (render.HEAT_DENSITY, render.HEAT_DENSITY, 3)
    # the picture is the network's answer: blue where it predicts +1
    out = sim.boundary(render.HEAT_DENSITY)["output"]
    assert np.array_equal(img[out > 0.9][:, 2] > 150, np.ones((out > 0.9).sum(), bool))
    assert pics["loss"].count("<polyline") == 2
    assert "pg-thumbs" in render.thumbnails_svg("xor")


# --- the page ------------------------------------------------------------------------------------------------
def _html(at) -> str:
    """Everything the page drew as HTML/SVG: markdown, st.html and the netview's pictures."""
    views = [json.loads(c.proto.json)["html"] for c in at.get("bidi_component") if c.proto.json]
    return "".join(m.value for m in at.markdown) + "".join(h.proto.body for h in at.get("html")) + "".join(views)


def _query(at) -> dict:
    return {k: v if isinstance(v, str) else v[-1] for k, v in at.query_params.items()}


def _epoch(at) -> int:
    return int(re.search(r"class='pg-epoch'[^>]*>([\d,]+)<", _html(at)).group(1).replace(",", ""))


def test_page_renders_and_step_advances(apptest):
    at = apptest(PAGE).run()
    assert not at.exception
    assert _epoch(at) == 0 and "pg-network" in _html(at) and "pg-heatmap" in _html(at)
    assert _query(at)["dataset"] == "circle" and _query(at)["networkShape"] == "8,8,5"
    at.button(key="pg-step").click().run()
    at.button(key="pg-step").click().run()
    assert not at.exception and _epoch(at) == 2
    at.button(key="pg-play").click().run()  # the page draws one tick while playing
    assert _epoch(at) > 2 and at.button(key="pg-play").label == "Pause"
    at.button(key="pg-reset").click().run()
    assert _epoch(at) == 0 and at.button(key="pg-play").label == "Play"


def test_page_applies_query_params_and_writes_changes(apptest):
    at = apptest(PAGE)
    at.query_params.update({"dataset": "xor", "networkShape": "3,2", "activation": "relu", "learningRate": "0.1",
                            "xTimesY": "true", "x": "false", "noise": "20", "showTestData": "true"})
    at.run()
    assert not at.exception
    assert at.radio(key="pg-dataset").value == "xor"
    assert at.number_input(key="pg-layers").value == 2
    assert [at.number_input(key=f"pg-n{i}").value for i in range(2)] == [3, 2]
    assert at.selectbox(key="pg-act").value == "relu" and at.select_slider(key="pg-lr").value == 0.1
    assert at.slider(key="pg-noise").value == 20 and at.toggle(key="pg-test").value is True
    assert "X₁X₂" in _html(at)
    # a change goes to the URL
    at.radio(key="pg-dataset").set_value("spiral").run()
    at.number_input(key="pg-layers").set_value(4).run()
    q = _query(at)
    assert q["dataset"] == "spiral" and q["networkShape"] == "3,2,4,4" and q["activation"] == "relu"


def test_page_shows_divergence_as_a_message(apptest):
    at = apptest(PAGE)
    at.query_params.update({"problem": "regression", "regDataset": "reg-plane", "activation": "linear",
                            "learningRate": "10"})
    at.run()
    at.button(key="pg-step").click().run()
    assert not at.exception
    assert any("Lower the learning rate" in e.value for e in at.error)


def _stat(at, cls: str) -> str:
    return re.search(rf"class='{cls}'[^>]*>([^<]+)<", _html(at)).group(1)


def test_page_divergence_shows_the_losses_the_message_quotes(apptest):
    """Plane, learning rate 10: the stats above the output show the step where it blew up."""
    at = apptest(PAGE)
    at.query_params.update({"problem": "regression", "regDataset": "reg-plane", "learningRate": "10"})
    at.run()
    at.button(key="pg-step").click().run()
    assert not at.exception
    message = next(e.value for e in at.error if "diverged" in e.value)
    loss, epoch = re.search(r"reached (\S+) at epoch (\d+)", message).groups()
    assert _stat(at, "pg-train-loss") == loss, (message, _stat(at, "pg-train-loss"))
    assert _epoch(at) == int(epoch)
    assert float(_stat(at, "pg-test-loss")) > 1e6  # the test loss of that epoch too, not epoch 0's


def test_page_keeps_its_setup_after_a_visit_to_another_page(apptest):
    """The playground keeps its state its own way (PlaygroundState in the session + the URL)."""
    at = apptest("app.py").run()
    at.switch_page(PAGE).run()
    at.radio(key="pg-dataset").set_value("xor").run()
    at.select_slider(key="pg-lr").set_value(0.1).run()
    at.number_input(key="pg-layers").set_value(2).run()
    at.button(key="pg-step").click().run()
    at.switch_page("pages/home.py").run()
    assert not at.exception
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.radio(key="pg-dataset").value == "xor" and at.select_slider(key="pg-lr").value == 0.1
    assert at.number_input(key="pg-layers").value == 2
    assert _epoch(at) == 1, "the network trained before leaving is still there"
    assert _query(at)["dataset"] == "xor" and _query(at)["networkShape"] == "8,8"


def test_page_renders_with_the_worst_url(apptest):
    at = apptest(PAGE)
    at.query_params.update({"noise": "inf", "learningRate": "nan", "regularizationRate": "-inf",
                            "batchSize": "1" + "0" * 400, "percTrainData": "-1e308", "networkShape": "1e308,-3",
                            "seed": "x" * 100_000, "dataset": "\x00" * 1000, "activation": "[1]",
                            "regularization": "9" * 5000, "showTestData": "nan", "x": "inf", "sinY": "x" * 100_000,
                            "dropout": "inf", "activations": "relu,\x00", "lrSchedule": "9" * 300,
                            "scheduleEpochs": "-1e308", "stopMetric": "epochs", "stopValue": "nan",
                            "hide": "x," * 50_000, "numClasses": "1e308"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    state = at.session_state["pg:state"]
    assert _valid(state) and state.noise == 0 and state.learning_rate == PlaygroundState().learning_rate
    # 10**400 is no finite float: the default; -1e308 clamps to the smallest ratio
    assert state.network_shape == (8, 1) and state.batch_size == 10 and state.perc_train == 10
    assert _epoch(at) == 0 and "pg-heatmap" in _html(at)
    at.button(key="pg-step").click().run()
    assert not at.exception and _epoch(at) == 1
    q = _query(at)
    assert q["noise"] == "0" and q["networkShape"] == "8,1" and len(q["seed"]) <= 5, "the URL is cleaned"
