"""Your own data in the playground: a CSV file, or points drawn with the mouse.

A CSV has a header line naming the columns `x1, x2, label` (classes: any text or
numbers, up to 10 different ones) or `x1, x2, value` (regression: a real number per
point). Other columns are ignored; commas, semicolons or tabs separate the values.
Anything else gets one specific message (`DataError`): which column is missing, which
row and column holds something that is not a number, how many rows or classes too many.

Coordinates. The heatmap always shows the square [-6, 6]² (`sim.DOMAIN`), the range of
the built-in datasets, and the input features (sin X₁, X₁², X₁X₂) are tuned to it. Data
inside that square is kept exactly as given. Data far outside it (or squeezed into a
speck at the centre: every |x| < 0.5) would be invisible, or one coloured blob, so it is
moved into the square — `map = (file − offset) × scale` per axis, with round numbers so
the axes can say "x1 = 1000 + map × 10" (`axis_note`). Both axes share one scale, so a
circle stays a circle, unless their ranges differ more than tenfold (then each axis gets
its own, or the narrow one would collapse onto a line). Regression values far outside
[-1, 1] (prices, temperatures) are moved into it the same way: the playground's linear
output starts near 0 and learns at a pace made for values of about ±1.
"""
from __future__ import annotations

import csv
import io
import math
import warnings
from dataclasses import dataclass, field

import numpy as np

MAX_ROWS = 10_000
MIN_ROWS = 10
MAX_CLASSES = 10  # shown
MAX_TRAIN_CLASSES = 5  # trained: the playground's softmax network has up to 5 outputs
MAX_BYTES = 5_000_000
MAX_COLUMNS = 100  # x1, x2, label or value, and others ignored; pandas took 14 s and 150 MB for a 60 KB file of 30,000
DOMAIN = 6.0  # the heatmap's half-width (dlplay.playground.sim.DOMAIN)
FIT = 5.0  # rescaled data spans at most [-5, 5]: a margin inside the map
SMALL = 0.5  # data with every |coordinate| below this is spread out too
MISSING = {"", "nan", "na", "n/a", "null", "none"}  # label cells that hold nothing

_BINARY_MAGIC = [  # how a file that isn't text starts, and what it is
    (b"PK\x03\x04", "a ZIP archive or an Excel/ODS spreadsheet (.xlsx, .ods); save it as CSV (UTF-8) first"),
    (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls); save it as CSV (UTF-8) first"),
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"), (b"\x1f\x8b", "a gzip-compressed file; unpack it first"),
]


class DataError(ValueError):
    """Data the playground can't use; the message says what is wrong and where."""


@dataclass(frozen=True, eq=False)  # arrays inside: identity, not ==
class CustomData:
    points: np.ndarray  # (n, 2) float64, map coordinates
    labels: np.ndarray  # (n,) float64: ±1 binary, 0..k-1 classes, real values for regression
    kind: str  # "classes" | "values"
    n_classes: int  # 0 regression, 2 binary, k multi-class
    classes: tuple[str, ...]  # the original label names in label order (binary: −1 first)
    name: str = "custom data"
    offset: tuple[float, float] = (0.0, 0.0)  # map = (file − offset) × scale
    scale: tuple[float, float] = (1.0, 1.0)
    value_offset: float = 0.0  # regression: label = (value − value_offset) × value_scale
    value_scale: float = 1.0
    notes: tuple[str, ...] = field(default=())  # what was ignored or rescaled, for the page to say

    @property
    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """(points, labels) as `Playground(state, data=...)` takes them."""
        return self.points, self.labels

    def __len__(self) -> int:
        return len(self.points)

    @property
    def rescaled(self) -> bool:
        return self.offset != (0.0, 0.0) or self.scale != (1.0, 1.0)

    def to_user(self, points: np.ndarray) -> np.ndarray:
        """Map coordinates → the file's coordinates."""
        return np.asarray(points, float) / np.array(self.scale) + np.array(self.offset)

    def value_to_user(self, v):
        return np.asarray(v, float) / self.value_scale + self.value_offset

    def axis_note(self) -> str:
        """How the map's axes read in the file's units ("" when the data was kept as is)."""
        parts = []
        if self.rescaled:
            parts += [f"{n} = {_affine(o, s, 'map')}" for n, o, s in zip(("x1", "x2"), self.offset, self.scale)]
        if (self.value_offset, self.value_scale) != (0.0, 1.0):
            parts.append(f"value = {_affine(self.value_offset, self.value_scale, 'output')}")
        return "Rescaled to fit the map: " + ", ".join(parts) + "." if parts else ""

    def training_refusal(self) -> str | None:
        """Why this data can't be trained on (it can still be shown); None if it can."""
        if self.n_classes > MAX_TRAIN_CLASSES:
            return (f"{self.n_classes} classes: the playground shows up to {MAX_CLASSES} but trains on at most "
                    f"{MAX_TRAIN_CLASSES}. Merge or drop classes to train.")
        return None

    @property
    def trainable(self) -> bool:
        return self.training_refusal() is None

    def state(self, base):
        """`base` (a PlaygroundState) set up for this data."""
        return base.replace(dataset="custom", n_classes=self.n_classes)

    def to_dict(self) -> dict:
        """Plain JSON, for a run's spec."""
        return {"points": self.points.tolist(), "labels": self.labels.tolist(), "kind": self.kind,
                "n_classes": self.n_classes, "classes": list(self.classes), "name": self.name,
                "offset": list(self.offset), "scale": list(self.scale), "value_offset": self.value_offset,
                "value_scale": self.value_scale, "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, d: dict) -> "CustomData":
        return cls(np.asarray(d["points"], float).reshape(-1, 2), np.asarray(d["labels"], float), d["kind"],
                   int(d["n_classes"]), tuple(d["classes"]), d.get("name", "custom data"),
                   tuple(d.get("offset", (0.0, 0.0))), tuple(d.get("scale", (1.0, 1.0))),
                   float(d.get("value_offset", 0.0)), float(d.get("value_scale", 1.0)), tuple(d.get("notes", ())))


# --- reading a CSV ----------------------------------------------------------------------------------

def read_csv(data: bytes, name: str = "uploaded.csv") -> CustomData:
    """The CSV's points, labels and classes; raises `DataError` saying what to fix."""
    text = _text(data)
    frame = _frame(text)
    columns = {str(c).strip().lower(): c for c in frame.columns}
    if all(_number(str(c)) is not None for c in frame.columns):
        raise DataError("The first line must name the columns (x1,x2,label or x1,x2,value), but it holds "
                        f"numbers: {', '.join(map(str, frame.columns))}. Add a header line such as x1,x2,label.")
    target = [c for c in ("label", "value") if c in columns]
    missing = [c for c in ("x1", "x2") if c not in columns] + ([] if target else ["label (or value)"])
    if missing:
        found = ", ".join(str(c).strip() for c in frame.columns)
        raise DataError(f"Missing column{'s' if len(missing) > 1 else ''} {' and '.join(missing)}. The first line "
                        f"must name the columns x1, x2 and label (classes) or value (regression); found: {found}.")
    if len(target) == 2:
        raise DataError("There is a label column and a value column: keep label for classes or value for "
                        "regression, not both.")
    target = target[0]
    n = len(frame)
    if n > MAX_ROWS:
        raise DataError(f"Too many rows: more than {MAX_ROWS:,} (about {_rows(text):,}). The playground takes at "
                        f"most {MAX_ROWS:,} points; keep a sample.")
    if n < MIN_ROWS:
        raise DataError(f"Too few rows: {n} point{'s' if n != 1 else ''}; the playground needs at least {MIN_ROWS} "
                        f"to split into training and test points.")
    pts = np.stack([_numbers(frame[columns[c]], c) for c in ("x1", "x2")], 1)
    ignored = [str(c).strip() for k, c in columns.items() if k not in ("x1", "x2", target)]
    notes = (f"Ignored column{'s' if len(ignored) > 1 else ''}: {', '.join(ignored)}.",) if ignored else ()
    if target == "value":
        return _make(pts, _numbers(frame[columns["value"]], "value"), "values", name, notes)
    return _make(pts, _cells(frame[columns["label"]], "label"), "classes", name, notes)


def from_points(points, classes, kind: str = "classes", names=None) -> CustomData:
    """Points drawn with the mouse (map coordinates), one class index (or label, or value
    with kind="values") per point; `names`: the class names in index order."""
    pts = np.asarray(points, float).reshape(-1, 2)
    labels = list(classes)
    if len(labels) != len(pts):
        raise DataError(f"{len(pts)} points but {len(labels)} labels: give one label per point.")
    if len(pts) < MIN_ROWS:
        raise DataError(f"Too few points: {len(pts)}; draw at least {MIN_ROWS}.")
    if len(pts) > MAX_ROWS:
        raise DataError(f"Too many points: {len(pts):,}; at most {MAX_ROWS:,}.")
    if not np.isfinite(pts).all():
        raise DataError("Some points are not finite numbers (NaN or infinity).")
    if np.abs(pts).max() > DOMAIN:
        raise DataError(f"Points must lie on the map, in [-{DOMAIN:g}, {DOMAIN:g}]².")
    if kind == "values":
        values = np.asarray(labels, float)
        if not np.isfinite(values).all():
            raise DataError("Some values are not finite numbers (NaN or infinity).")
        return _make(pts, values, "values", "drawn points", (), rescale=False)
    if names is not None and all(isinstance(c, (int, np.integer)) for c in labels):
        names = [str(n) for n in names]
        codes = np.asarray(labels, int)
        if codes.min() < 0 or codes.max() >= len(names):
            raise DataError(f"Class indices must be 0 to {len(names) - 1}.")
        if len(np.unique(codes)) < 2:
            raise DataError(f"All points are of class {names[codes[0]]!r}: draw points of at least two classes.")
        # The classes up to the last one drawn (an unused palette colour past it is no class).
        return _classes(pts, codes, names[:codes.max() + 1], "drawn points", ())
    return _make(pts, [str(c) for c in labels], "classes", "drawn points", (), rescale=False)


# --- the pieces ---------------------------------------------------------------------------------------

def _text(data: bytes) -> str:
    if isinstance(data, str):
        data = data.encode()
    if not data or not data.strip():
        raise DataError("The file is empty: it needs a header line (x1,x2,label) and one line per point.")
    if len(data) > MAX_BYTES:
        raise DataError(f"The file is {len(data) / 1e6:.1f} MB: at most {MAX_BYTES / 1e6:g} MB "
                        f"({MAX_ROWS:,} points) can be uploaded.")
    for magic, what in _BINARY_MAGIC:
        if data.startswith(magic):
            raise DataError(f"This is not a CSV file but {what}.")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise DataError("This file is UTF-16 text (Excel's \"Unicode text\"); save it as CSV (UTF-8) instead.")
    if b"\x00" in data[:4096]:
        raise DataError("This is not a CSV file: it holds binary data (not text).")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"This is not a UTF-8 text file (byte 0x{data[e.start]:02x} at position {e.start:,} is "
                        "not UTF-8): save it as CSV (UTF-8).") from None
    start = text.lstrip()[:1]
    if start in ("<", "{", "["):
        what = "HTML or XML" if start == "<" else "JSON"
        raise DataError(f"This is {what}, not a CSV file: the first line must name the columns, e.g. x1,x2,label.")
    return text


def _frame(text: str):
    import pandas as pd

    first = next((line for line in text.splitlines() if line.strip()), "")
    sep = max((",", ";", "\t"), key=first.count) if any(s in first for s in ",;\t") else ","
    width = first.count(sep) + 1  # the header's columns (a separator inside quotes: counted as csv does)
    if width > MAX_COLUMNS and '"' in first:
        width = len(next(csv.reader([first], delimiter=sep)))
    if width > MAX_COLUMNS:
        raise DataError(f"The first line names {width:,} columns; the playground reads files of up to {MAX_COLUMNS} "
                        "(x1, x2 and label or value; others are ignored). Keep those columns and save again.")
    _check_widths(text, sep)
    try:
        # Every cell as text, nothing guessed: the checks below say which cell is wrong.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skip_blank_lines=True,
                                nrows=MAX_ROWS + 1, skipinitialspace=True, index_col=False)
    except pd.errors.EmptyDataError:
        raise DataError("The file is empty: it needs a header line (x1,x2,label) and one line per point.") from None
    except pd.errors.ParserError as e:
        raise DataError(f"This is not a well-formed CSV file: {_parser_message(str(e))}") from None
    return frame


def _check_widths(text: str, sep: str) -> None:
    """A line with more values than the header has columns (pandas would drop the extra ones)."""
    width, reader = None, csv.reader(io.StringIO(text), delimiter=sep)
    try:
        for row in reader:
            if not any(c.strip() for c in row):
                continue
            if width is None:
                width = len(row)
            elif len(row) > width:
                raise DataError(f"This is not a well-formed CSV file: line {reader.line_num} has {len(row)} values "
                                f"but the header names {width} columns.")
    except csv.Error:
        pass  # pandas says what is wrong


def _parser_message(msg: str) -> str:
    # pandas: "Error tokenizing data. C error: Expected 3 fields in line 5, saw 4"
    msg = msg.strip().split("C error: ")[-1]
    if msg.startswith("EOF inside string"):
        return 'a quote mark (") is never closed.'
    if msg.startswith("Expected") and " fields in line " in msg:
        want, rest = msg.removeprefix("Expected ").split(" fields in line ")
        line, saw = rest.split(", saw ")
        return f"line {line} has {saw.strip()} values but the header names {want} columns."
    return msg


def _rows(text: str) -> int:
    return max(0, sum(1 for line in text.splitlines() if line.strip()) - 1)


def _number(cell: str) -> float | None:
    try:
        return float(cell.strip())
    except ValueError:
        return None


def _where(i: int) -> str:
    return f"row {i + 1} (line {i + 2} of the file)"


def _cells(column, name: str) -> list[str]:
    cells = [str(c).strip() for c in column]
    empty = [i for i, c in enumerate(cells) if c.lower() in MISSING]
    if empty:
        more = f" (and {len(empty) - 1} more)" if len(empty) > 1 else ""
        raise DataError(f"{_where(empty[0]).capitalize()}, column {name}: no {name} (empty or NaN){more}. "
                        f"Every point needs one.")
    return cells


def _numbers(column, name: str) -> np.ndarray:
    cells = [str(c).strip() for c in column]
    values = np.empty(len(cells))
    bad = []
    for i, c in enumerate(cells):
        v = _number(c)
        if v is None:
            bad.append(i)
        else:
            values[i] = v
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        c = cells[bad[0]]
        what = "is empty" if not c else f"holds {c[:30]!r}, which is not a number"
        hint = " Use a dot for decimals (1.5, not 1,5)." if "," in c or (_number(c.replace(",", ".")) is not None) \
            else ""
        raise DataError(f"{_where(bad[0]).capitalize()}, column {name} {what}{more}.{hint}")
    infinite = np.flatnonzero(~np.isfinite(values))
    if len(infinite):
        more = f" (and {len(infinite) - 1} more)" if len(infinite) > 1 else ""
        raise DataError(f"{_where(infinite[0]).capitalize()}, column {name} holds {cells[infinite[0]]!r}{more}: "
                        "NaN and infinity can be neither drawn nor learned; remove or fix those rows.")
    return values


def _make(pts, labels, kind: str, name: str, notes: tuple, rescale: bool = True) -> CustomData:
    offset, scale = _fit(pts) if rescale else ((0.0, 0.0), (1.0, 1.0))
    if offset != (0.0, 0.0) or scale != (1.0, 1.0):
        pts = (pts - np.array(offset)) * np.array(scale)
        notes = notes + ("The points lay outside the map's [-6, 6]² (or in a speck at its centre) and were "
                         "rescaled to fit.",)
    if kind == "values":
        values = np.asarray(labels, float)
        v_offset, v_scale = _fit_values(values) if rescale else (0.0, 1.0)
        return CustomData(pts, (values - v_offset) * v_scale, "values", 0, (), name, offset, scale, v_offset,
                          v_scale, notes)
    # Classes: numbers sort as numbers (0 < 1 < 2 < 10), text alphabetically.
    numeric = [_number(c) for c in labels]
    if all(v is not None for v in numeric):
        keys = sorted(set(numeric))
        names = [f"{k:g}" for k in keys]
        index = {k: i for i, k in enumerate(keys)}
        codes = np.array([index[v] for v in numeric])
    else:
        names = sorted(set(labels))
        index = {k: i for i, k in enumerate(names)}
        codes = np.array([index[c] for c in labels])
    return _classes(pts, codes, names, name, notes, offset, scale)


def _classes(pts, codes, names, name, notes, offset=(0.0, 0.0), scale=(1.0, 1.0)) -> CustomData:
    k = len(names)
    if k > MAX_CLASSES:
        shown = ", ".join(names[:12]) + (", …" if k > 12 else "")
        raise DataError(f"Too many classes: the label column has {k} different values ({shown}); at most "
                        f"{MAX_CLASSES}. If these are numbers to predict, name the column value instead.")
    if k < 2:
        raise DataError(f"Only one class ({names[0]!r}) in the label column: a classifier needs at least two.")
    labels = np.where(codes == 1, 1.0, -1.0) if k == 2 else codes.astype(float)  # binary: ±1, as the built-ins
    return CustomData(pts, labels, "classes", k, tuple(names), name, offset, scale, 0.0, 1.0, notes)


def _nice_floor(x: float) -> float:
    """The largest of 1, 2, 2.5, 5 × 10ᵏ not above x."""
    k = math.floor(math.log10(x))
    return max(m * 10.0 ** k for m in (1, 2, 2.5, 5) if m * 10.0 ** k <= x * (1 + 1e-12))


def _round_to(x: float, step: float) -> float:
    return float(round(x / step) * step) if step > 0 else float(x)


def _fit(pts: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    """(offset, scale) that bring the points into the map, or the identity if they fit."""
    biggest = float(np.abs(pts).max())
    if SMALL <= biggest <= DOMAIN:
        return (0.0, 0.0), (1.0, 1.0)
    lo, hi = pts.min(0), pts.max(0)
    half = np.maximum((hi - lo) / 2, 1e-12)
    centre = (lo + hi) / 2
    # Round the centre to a tenth of the spread's order of magnitude: "1000", not "1003.7".
    offset = [_round_to(c, 10.0 ** math.floor(math.log10(h)) / 10) for c, h in zip(centre, half)]
    reach = np.abs(pts - offset).max(0)  # after rounding the centre
    flat = reach <= 1e-9 * np.maximum(np.abs(offset), 1)  # a constant column: nothing to spread
    if flat.all():
        return (float(offset[0]), float(offset[1])), (1.0, 1.0)
    common = _nice_floor(FIT / reach[~flat].max())
    if not flat.any() and reach.max() > 10 * reach.min():
        scale = [_nice_floor(FIT / r) for r in reach]
    else:
        scale = [common, common]
    return (float(offset[0]), float(offset[1])), (float(scale[0]), float(scale[1]))


def _fit_values(values: np.ndarray) -> tuple[float, float]:
    biggest = float(np.abs(values).max())
    if biggest <= 2.0:
        return 0.0, 1.0
    lo, hi = float(values.min()), float(values.max())
    half = max((hi - lo) / 2, 1e-12)
    offset = _round_to((lo + hi) / 2, 10.0 ** math.floor(math.log10(half)) / 10)
    reach = float(np.abs(values - offset).max())
    if reach <= 1e-9 * max(abs(offset), 1):  # one value throughout
        return offset, 1.0
    return offset, _nice_floor(1.0 / reach)


def _affine(offset: float, scale: float, what: str) -> str:
    inv = 1 / scale
    term = f"{what} × {inv:g}" if inv != 1 else what
    return f"{offset:g} + {term}" if offset else term
