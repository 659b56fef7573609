"""Text corpora from the data directory: IMDB reviews (the `aclImdb/` folder, any subset of
its files, or the CSV form), the UCI sentiment sentences and the AG News test set.

Each loads into a `TextData`: cleaned texts (IMDB's `<br />` tags become spaces), int64
labels and the source it came from. IMDB downloads with a progress bar when online and
missing; offline, a missing corpus raises `DatasetUnavailable` naming the files to add.
"""
from __future__ import annotations

import csv
import gzip
import html
import logging
import re
import tarfile
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .. import registry
from ..rebuilt import IMDB_MD5, IMDB_URL
from ..data import DatasetUnavailable, Progress, Source, data_dir, download, downloads_allowed
from ..visible import ask, in_data_dir

log = logging.getLogger(__name__)

SENTIMENT = ["negative", "positive"]
AG_CLASSES = ["World", "Sports", "Business", "Sci/Tech"]
UCI_FILES = ("amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt")
_TAGS = re.compile(r"<br\s*/?>", re.IGNORECASE)


@dataclass
class TextData:
    name: str
    title: str
    train_texts: list[str]
    train_labels: np.ndarray  # int64, index into classes
    test_texts: list[str]
    test_labels: np.ndarray
    classes: list[str]
    source: Source
    extra: dict = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def summary(self) -> str:
        return (f"{self.title}: {len(self.train_texts):,} training and {len(self.test_texts):,} test texts, "
                f"{self.n_classes} classes ({', '.join(self.classes)}). Source — {self.source.describe()}")

    def take(self, n_train: int = 0, n_test: int = 0, seed: int = 0) -> "TextData":
        """A random subset with every class in proportion (0 = all of a split), the same for a
        given seed, so two runs asked for 5,000 reviews see the same 5,000."""
        rng = np.random.default_rng(seed)
        tr = _stratified(self.train_labels, n_train, rng)
        te = _stratified(self.test_labels, n_test, rng)
        return replace(self, train_texts=[self.train_texts[i] for i in tr], train_labels=self.train_labels[tr],
                       test_texts=[self.test_texts[i] for i in te], test_labels=self.test_labels[te],
                       extra=dict(self.extra))


def _stratified(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` indices with each class in proportion: shares rounded by largest remainder, so the
    total is exactly `n` and each class is within one of its share."""
    if not n or n >= len(labels):
        return np.arange(len(labels))
    classes, counts = np.unique(labels, return_counts=True)
    quota = n * counts / len(labels)
    k = np.floor(quota).astype(int)
    k[np.argsort(k - quota, kind="stable")[: n - k.sum()]] += 1
    out = np.concatenate([rng.choice(np.flatnonzero(labels == c), size=m, replace=False) for c, m in zip(classes, k)])
    rng.shuffle(out)
    return out


def clean(text: str) -> str:
    """HTML line breaks to spaces and entities to characters: what a reader sees."""
    return html.unescape(_TAGS.sub(" ", text))


# --- IMDB ------------------------------------------------------------------------------------

READ_CHUNK = 2500  # reviews read between two progress reports (and Stop checks) while a corpus is read


def _imdb_folder_split(folder: Path, progress: Progress | None = None, what: str = "reviews"
                       ) -> tuple[list[str], list[int]]:
    texts, labels, found = [], [], []
    for label, name in enumerate(("neg", "pos")):
        # Sorted by review id so every machine reads the same order.
        files = sorted((folder / name).glob("*.txt"), key=lambda p: (int(p.stem.split("_")[0]) if
                                                                    p.stem.split("_")[0].isdigit() else 0, p.name))
        found += [(path, label) for path in files]
    for i, (path, label) in enumerate(found):
        if progress is not None and i % READ_CHUNK == 0:
            progress(0.0, f"reading {len(found):,} {what}: {i / len(found):.0%}")
        try:
            texts.append(clean(path.read_text(encoding="utf-8", errors="replace")))
            labels.append(label)
        except OSError:
            continue  # an unreadable file is left out; the counts shown say how many were read
    return texts, labels


def _imdb_from_folder(root: Path, progress: Progress | None = None) -> TextData | None:
    splits = {s: _imdb_folder_split(root / s, progress, what) for s, what in (("train", "training reviews"),
                                                                                ("test", "test reviews"))}
    if not splits["train"][0] or not splits["test"][0]:
        return None
    (xtr, ytr), (xte, yte) = splits["train"], splits["test"]
    note = "" if len(xtr) == len(xte) == 25_000 else f"{len(xtr):,} + {len(xte):,} of the 25,000 + 25,000 reviews"
    return TextData("imdb", "IMDB reviews", xtr, np.array(ytr, np.int64), xte, np.array(yte, np.int64),
                    SENTIMENT, Source("data_dir", str(root), note))


def _read_imdb_csv(path: Path, progress: Progress | None = None, what: str = "reviews") -> tuple[list[str], list[int]]:
    texts, labels = [], []
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if progress is not None and len(texts) % READ_CHUNK == 0:
                progress(0.0, f"reading the {what}: {len(texts):,} so far")
            texts.append(clean(row["review"]))
            labels.append(int(row["sentiment"] == "positive"))
    return texts, labels


def _imdb_from_csv(folder: Path, progress: Progress | None = None) -> TextData | None:
    train, test = folder / "imdb_train.csv.gz", folder / "imdb_test.csv.gz"
    if not (train.is_file() and test.is_file()):
        return None
    (xtr, ytr), (xte, yte) = _read_imdb_csv(train, progress, "training reviews"), _read_imdb_csv(test, progress,
                                                                                                 "test reviews")
    return TextData("imdb_csv", "IMDB reviews", xtr, np.array(ytr, np.int64), xte, np.array(yte, np.int64),
                    SENTIMENT, Source("data_dir", str(folder), f"{len(xtr):,} + {len(xte):,} reviews as CSV"))


def _imdb_download(progress: Progress | None) -> TextData | None:
    if registry.from_mirror("imdb", data_dir(), progress):  # DLPLAY_DATA_URL: the mirror's reviews
        return _imdb_from_folder(data_dir() / "aclImdb")
    archive = download(IMDB_URL, data_dir() / "aclImdb_v1.tar.gz", IMDB_MD5, progress)
    if progress:
        progress(1.0, "unpacking the 50,000 labelled reviews…")
    with tarfile.open(archive) as tar:
        # The labelled reviews only: the 50,000 unlabelled ones and the .feat files are not used.
        wanted = [m for m in tar.getmembers() if re.fullmatch(r"aclImdb/(train|test)/(pos|neg)/\d+_\d+\.txt", m.name)]
        tar.extractall(data_dir(), members=wanted, filter="data")
    data = _imdb_from_folder(data_dir() / "aclImdb")
    return replace(data, source=Source("download", str(data_dir() / "aclImdb"))) if data else None


def _imdb(progress: Progress | None) -> TextData:
    data = _imdb_from_folder(data_dir() / "aclImdb", progress)
    if data is None and downloads_allowed():
        try:
            data = _imdb_download(progress)
        except (OSError, tarfile.TarError):
            data = None
    if data is None:
        raise DatasetUnavailable(
            f"IMDB reviews are not available offline. Put review files as "
            f"{in_data_dir('aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt')} (any subset of aclImdb_v1.tar.gz; "
            f"both splits need files), or the CSV form imdb_train.csv.gz and imdb_test.csv.gz into "
            f"{in_data_dir('imdb_csv')}{ask()}.")
    return data


def _imdb_csv(progress: Progress | None) -> TextData:
    data = _imdb_from_csv(data_dir() / "imdb_csv", progress)
    if data is None:
        raise DatasetUnavailable(
            f"The IMDB CSV is not there: put imdb_train.csv.gz and imdb_test.csv.gz (columns review, sentiment "
            f"positive/negative) into {in_data_dir('imdb_csv')}, or use the aclImdb folder form{ask()}.")
    return data


# --- UCI sentences and AG News ---------------------------------------------------------------

def _uci(progress: Progress | None) -> TextData:
    folder = data_dir() / "sentiment_labelled_sentences"
    texts, labels = [], []
    for name in UCI_FILES:
        path = folder / name
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            # Split on the last tab only: the sentences hold unbalanced quotes (no csv quoting).
            sentence, _, label = line.rpartition("\t")
            if label.strip() in ("0", "1"):
                texts.append(sentence.strip())
                labels.append(int(label))
    if not texts:
        raise DatasetUnavailable(
            f"The UCI sentiment sentences are not there: put {', '.join(UCI_FILES)} (sentence<TAB>0 or 1 per line) "
            f"into {in_data_dir(folder.name)}{ask()}.")
    # A fixed 80/20 split: the corpus ships as one set.
    order = np.random.default_rng(0).permutation(len(texts))
    cut = int(0.8 * len(texts))
    y = np.array(labels, np.int64)
    tr, te = order[:cut], order[cut:]
    return TextData("uci_sentences", "UCI sentiment sentences", [texts[i] for i in tr], y[tr],
                    [texts[i] for i in te], y[te], SENTIMENT,
                    Source("data_dir", str(folder), f"{len(texts):,} Amazon, IMDB and Yelp sentences, split 80/20"))


def _read_ag(path: Path) -> tuple[list[str], list[int]]:
    with open(path, encoding="utf-8", newline="") as f:
        rows = [r for r in csv.reader(f) if len(r) >= 3 and r[0].strip().isdigit()]
    # Titles and descriptions use "\" for line breaks in the original files.
    return ([clean(f"{r[1]}. {r[2]}".replace("\\", " ")) for r in rows], [int(r[0]) - 1 for r in rows])


def _ag_news(progress: Progress | None) -> TextData:
    folder = data_dir() / "ag_news_csv"
    if not (folder / "test.csv").is_file():
        raise DatasetUnavailable(f"AG News is not there: put test.csv (and train.csv if you have it) from "
                                 f"ag_news_csv.tar.gz into {in_data_dir(folder.name)}{ask()}.")
    xte, yte = _read_ag(folder / "test.csv")
    if (folder / "train.csv").is_file():
        xtr, ytr = _read_ag(folder / "train.csv")
        note = ""
    else:
        # Only the 7,600 test articles here: split them 6,000 / 1,600 (fixed), balanced by chance.
        order = np.random.default_rng(0).permutation(len(xte))
        xtr, ytr = [xte[i] for i in order[:6000]], [yte[i] for i in order[:6000]]
        xte, yte = [xte[i] for i in order[6000:]], [yte[i] for i in order[6000:]]
        note = "train.csv absent: the 7,600 test articles split 6,000 / 1,600"
    return TextData("ag_news", "AG News", xtr, np.array(ytr, np.int64), xte, np.array(yte, np.int64), AG_CLASSES,
                    Source("data_dir", str(folder), note))


LOADERS = {"imdb": _imdb, "imdb_csv": _imdb_csv, "uci_sentences": _uci, "ag_news": _ag_news}
TITLES = {"imdb": "IMDB reviews (aclImdb folder)", "imdb_csv": "IMDB reviews (CSV, 25,000 + 25,000)",
          "uci_sentences": "UCI sentiment sentences (3,000)", "ag_news": "AG News (4 topics)"}
FOLDERS = {"imdb": ["aclImdb/train/pos", "aclImdb/train/neg", "aclImdb/test/pos", "aclImdb/test/neg"],
           "imdb_csv": ["imdb_csv"], "uci_sentences": ["sentiment_labelled_sentences"], "ag_news": ["ag_news_csv"]}

_cache: dict[tuple, tuple[tuple, TextData]] = {}
_lock = threading.Lock()


def _fingerprint(name: str) -> tuple:
    """The folders' modification times and sizes: a file added or removed makes the next load read again."""
    out = []
    for rel in FOLDERS[name]:
        try:
            st = (data_dir() / rel).stat()
            out.append((rel, st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((rel, None, None))
    return tuple(out)


def load(name: str, progress: Progress | None = None) -> TextData:
    """The corpus `name` (see LOADERS), cached per process (sessions share it; treat it as read-only).
    While it is read, `progress(fraction, message)` hears how far (it may raise to stop: a job's Stop)."""
    if name not in LOADERS:
        raise KeyError(f"unknown corpus {name!r}; choose from {', '.join(LOADERS)}")
    key = (name, str(data_dir()), downloads_allowed())
    with _lock:
        if key not in _cache or _cache[key][0] != _fingerprint(name):
            data = _read_or_fetch(name, progress)
            log.info("corpus %s: %s", name, data.source.describe(full=True))  # the path: in the log only
            _cache[key] = (_fingerprint(name), data)
        return _cache[key][1]


def _read_or_fetch(name: str, progress: Progress | None) -> TextData:
    """The corpus from the data directory; when it is not there and a mirror is set
    (`DLPLAY_DATA_URL`), fetched from the mirror first (`dlplay.registry`), then read."""
    try:
        return LOADERS[name](progress)
    except DatasetUnavailable as exc:
        if not downloads_allowed():
            raise
        try:
            if not registry.from_mirror(name, data_dir(), progress):
                raise
        except registry.FetchFailed as failed:
            raise DatasetUnavailable(f"{exc} The mirror could not provide it: {failed}.") from failed
        return LOADERS[name](progress)


def present(name: str) -> bool:
    """Whether the corpus's files are in the data directory, without reading them (a page's default)."""
    if name == "imdb_csv":
        return all((data_dir() / "imdb_csv" / f).is_file() for f in ("imdb_train.csv.gz", "imdb_test.csv.gz"))
    return all(any((data_dir() / rel).glob("*")) if (data_dir() / rel).is_dir() else False for rel in FOLDERS[name])


def available() -> list[str]:
    """The corpora that load here without a download (a page offers these)."""
    out = []
    for name in LOADERS:
        if name == "imdb" and not any((data_dir() / "aclImdb" / "train").glob("*/*.txt")):
            continue  # loading it would start a download
        try:
            load(name)
            out.append(name)
        except DatasetUnavailable:
            continue
    return out


def clear_cache() -> None:
    with _lock:
        _cache.clear()


__all__ = ["SENTIMENT", "TextData", "available", "clean", "clear_cache", "load", "present", "TITLES"]
