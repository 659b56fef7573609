"""Your own data in the playground: CSV checks (one message per kind of bad file), drawn
points, rescaling into the map, and a good CSV that trains."""
from __future__ import annotations

import numpy as np
import pytest

from dlplay.playground import Playground, PlaygroundState, custom
from dlplay.playground.custom import DataError, from_points, read_csv


def csv(rows, header="x1,x2,label") -> bytes:
    return (header + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n").encode()


def blobs(n=200, seed=0, classes=2, spread=0.6, radius=3.0):
    """`classes` Gaussian blobs on a circle of `radius`: easy to separate."""
    rng = np.random.default_rng(seed)
    k = rng.integers(0, classes, n)
    angle = 2 * np.pi * k / classes
    pts = np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1) + rng.normal(0, spread, (n, 2))
    return pts, k


GOOD = [(1.0, 2.0, "a"), (-1.0, 0.5, "b")] * 6

# file -> what its message must say (each kind of mistake its own words)
BAD = {
    "empty": (b"", "The file is empty"),
    "blank lines": (b"\n  \n\n", "The file is empty"),
    "excel": (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 40, "Excel/ODS spreadsheet"),
    "png": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "a PNG image"),
    "binary": (b"x1,x2\x00\x01\x02\x03", "holds binary data"),
    "utf-16": ("x1,x2,label\n1,2,a\n".encode("utf-16"), "UTF-16 text"),
    "latin-1": ("x1,x2,label\n1,2,café\n".encode("latin-1") + b"1,2,b\n" * 10, "not a UTF-8 text file (byte 0xe9"),
    "no header": (b"1,2,3\n" * 12, "holds numbers: 1, 2, 3. Add a header line"),
    "missing label": (csv([(1, 2)] * 12, "x1,x2"), "Missing column label (or value)"),
    "missing x2": (csv([(1, 2)] * 12, "x1,label"), "Missing column x2."),
    "both targets": (csv([(1, 2, 3, 4)] * 12, "x1,x2,label,value"), "not both"),
    "too few rows": (csv(GOOD[:5]), "Too few rows: 5 points"),
    "too many rows": (b"x1,x2,label\n" + b"1,2,a\n3,4,b\n" * 5001, "Too many rows: more than 10,000 (about 10,002)"),
    "too many classes": (csv([(i % 5, i % 3, f"c{i % 12}") for i in range(40)]), "Too many classes: the label "
                                                                                "column has 12 different values"),
    "one class": (csv([(1, 2, "a")] * 12), "Only one class ('a')"),
    "not a number": (csv(GOOD[:7] + [(1.0, "abc", "a")] + GOOD[:4]),
                     "Row 8 (line 9 of the file), column x2 holds 'abc', which is not a number."),
    "decimal comma": ("x1;x2;label\n" + "1,5;2;a\n3;4;b\n" * 6, "Row 1 (line 2 of the file), column x1 holds '1,5', "
                                                                 "which is not a number (and 5 more). Use a dot"),
    "empty cell": (csv(GOOD[:3] + [("", 2.0, "a")] + GOOD[:8]), "Row 4 (line 5 of the file), column x1 is empty."),
    "infinity": (csv(GOOD[:2] + [(1.0, "inf", "a")] + GOOD[:9]), "column x2 holds 'inf': NaN and infinity"),
    "nan value": (csv([(i, 1, i / 10) for i in range(10)] + [(1, 1, "nan")], "x1,x2,value"),
                  "Row 11 (line 12 of the file), column value holds 'nan'"),
    "no label": (csv(GOOD[:9] + [(1.0, 1.0, "")] + GOOD[:2]), "Row 10 (line 11 of the file), column label: no label"),
    "html": (b"<!DOCTYPE html><html><body>Not found</body></html>", "This is HTML or XML, not a CSV file"),
    "json": (b'[{"x1": 1, "x2": 2, "label": "a"}]', "This is JSON, not a CSV file"),
    "ragged": (b"x1,x2,label\n1,2,a,9\n" + b"1,2,a\n3,4,b\n" * 6, "line 2 has 4 values but the header names 3"),
    "open quote": (b'x1,x2,label\n1,2,"a\n' + b"1,2,a\n3,4,b\n" * 6, 'a quote mark (") is never closed'),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_each_bad_csv_says_what_is_wrong(kind):
    data, message = BAD[kind]
    with pytest.raises(DataError) as e:
        read_csv(data.encode() if isinstance(data, str) else data)
    assert message in str(e.value), (kind, str(e.value))


def test_bad_csv_messages_differ():
    messages = {}
    for kind, (data, _) in BAD.items():
        try:
            read_csv(data.encode() if isinstance(data, str) else data)
        except DataError as e:
            messages[kind] = str(e)
    assert len(messages) == len(BAD)
    # the two empty files share their message; every other mistake has its own
    assert len(set(messages.values())) == len(BAD) - 1


def test_labels_follow_the_playground_convention():
    two = read_csv(csv([(1, 2, "dog"), (2, 1, "cat")] * 6))
    assert two.kind == "classes" and two.n_classes == 2 and two.classes == ("cat", "dog")
    assert set(two.labels) == {-1.0, 1.0} and two.labels[0] == 1.0  # cat (first) is −1, orange
    zero_one = read_csv(csv([(1, 2, 0), (2, 1, 1)] * 6))
    assert list(zero_one.labels[:2]) == [-1.0, 1.0] and zero_one.classes == ("0", "1")
    three = read_csv(csv([(1, 2, 10), (2, 1, 2), (0, 0, 1)] * 4))  # numbers sort as numbers
    assert three.n_classes == 3 and three.classes == ("1", "2", "10") and list(three.labels[:3]) == [2, 1, 0]
    reg = read_csv(csv([(i / 3, 1, i / 20, "n") for i in range(12)], " X1 , x2 ,Value,note"), name="r.csv")
    assert reg.kind == "values" and reg.n_classes == 0 and reg.classes == () and not reg.rescaled
    assert np.allclose(reg.labels, np.arange(12) / 20)
    extra = read_csv(b"x1;x2;label;comment\n" + b"1;2;a;x\n2;1;b;y\n" * 6)
    assert extra.n_classes == 2 and extra.notes == ("Ignored column: comment.",)


def test_far_data_is_rescaled_into_the_map_and_back():
    pts, k = blobs(60)
    far = pts * 100 + [1000, -500]
    data = read_csv(csv([(a, b, c) for (a, b), c in zip(far, k)]))
    assert data.rescaled and np.abs(data.points).max() <= 5.0 + 1e-9 and np.abs(data.points).max() > 2
    assert data.scale[0] == data.scale[1]  # one scale: shapes kept
    assert np.allclose(data.to_user(data.points), far)
    note = data.axis_note()  # round numbers: "x1 = 970 + map × 100, x2 = -510 + map × 100."
    assert note.startswith("Rescaled to fit the map: x1 = ") and note.count("map × 100") == 2, note
    inside = read_csv(csv([(a, b, c) for (a, b), c in zip(pts, k)]))
    assert not inside.rescaled and np.array_equal(inside.points, pts) and inside.axis_note() == ""
    prices = read_csv(csv([(a, b, 2e5 + 1e4 * a) for a, b in pts], "x1,x2,value"))
    assert np.abs(prices.labels).max() <= 1 + 1e-9 and np.allclose(prices.value_to_user(prices.labels),
                                                                    2e5 + 1e4 * pts[:, 0])
    assert "value = 197000 + output × 50000" in prices.axis_note()  # round numbers
    back = custom.CustomData.from_dict(prices.to_dict())
    assert np.array_equal(back.points, prices.points) and back.value_scale == prices.value_scale


def test_drawn_points():
    pts, k = blobs(30, classes=3)
    pts = np.clip(pts, -6, 6)
    data = from_points(pts, k.tolist(), names=["red", "green", "blue"])
    assert data.n_classes == 3 and data.classes == ("red", "green", "blue") and np.array_equal(data.labels, k)
    two = from_points(pts, (k % 2).tolist())
    assert two.n_classes == 2 and set(two.labels) == {-1.0, 1.0}
    values = from_points(pts, pts[:, 0] / 6, kind="values")
    assert values.kind == "values" and np.allclose(values.labels, pts[:, 0] / 6)
    with pytest.raises(DataError, match="Too few points: 3; draw at least 10"):
        from_points(pts[:3], k[:3].tolist())
    with pytest.raises(DataError, match="give one label per point"):
        from_points(pts, k[:5].tolist())
    with pytest.raises(DataError, match="draw points of at least two classes"):
        from_points(pts, [1] * len(pts), names=["red", "green", "blue"])
    assert from_points(pts, (k % 2).tolist(), names=["red", "green", "blue"]).classes == ("red", "green")
    with pytest.raises(DataError, match="must lie on the map"):
        from_points(pts * 3, k.tolist())


def test_six_to_ten_classes_show_but_do_not_train():
    from dlplay.playground.lesson import PlaygroundSpec, make_sim

    pts, k = blobs(80, classes=7)
    data = read_csv(csv([(a, b, f"k{c}") for (a, b), c in zip(pts, k)]))
    assert data.n_classes == 7 and not data.trainable
    assert data.training_refusal().startswith("7 classes: the playground shows up to 10 but trains on at most 5.")
    with pytest.raises(DataError, match="trains on at most 5"):
        make_sim(PlaygroundSpec(data.state(PlaygroundState()), 10, data.to_dict()))


def test_a_good_csv_trains():
    """Three blobs from a CSV with text labels: the softmax network learns them."""
    pts, k = blobs(300, classes=3, seed=1)
    names = np.array(["setosa", "versicolor", "virginica"])
    data = read_csv(csv([(round(a, 4), round(b, 4), names[c]) for (a, b), c in zip(pts, k)]), name="iris-ish.csv")
    assert data.n_classes == 3 and data.trainable
    state = data.state(PlaygroundState()).replace(features=("x", "y"), network_shape=(6,), learning_rate=0.1,
                                                  perc_train=70)
    sim = Playground(state, data=data.data)
    assert len(sim.train_pts) == 210 and len(sim.test_pts) == 90
    start = sim.test_loss
    sim.step(40)
    assert sim.test_loss < 0.5 * start, (start, sim.test_loss)
    assert sim.accuracy("test") > 0.9

    binary = read_csv(csv([(a, b, "in" if np.hypot(a, b) < 2.5 else "out") for a, b in pts * 1.3]))
    sim = Playground(binary.state(PlaygroundState()).replace(network_shape=(6, 4)), data=binary.data)
    start = sim.test_loss
    sim.step(60)
    assert sim.test_loss < 0.5 * start and sim.accuracy("test") > 0.85, (start, sim.test_loss)
