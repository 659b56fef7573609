"""Polyphonic music as piano rolls: every piece a (frames, 88) array of keys down (MIDI 21–108).

Sources, in order: the data directory (`DLPLAY_DATA_DIR/polyphonic_music/`: Boulanger-Lewandowski's
pickles — a dict of train/valid/test lists of pieces, each a list of frames, each a tuple of MIDI
pitches — or the TCN repository's `.mat` files of 88-key rolls); a download of the `.mat` file
when online (`dlplay.registry`: checked, from `DLPLAY_DATA_URL`'s mirror when one is set); and, offline with neither, Bach chorales from music21's own corpus turned into rolls
(a quarter note per frame, as the JSB pickle has), cached once.
"""
from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import registry
from ..data import DatasetUnavailable, Progress, Source, cache_dir, data_dir, downloads_allowed
from ..limits import shared
from ..visible import ask, in_data_dir, text

LOW, KEYS = 21, 88  # A0 … C8
FOLDER = "polyphonic_music"
# name → (title, pickle file, .mat file). A download fetches the TCN repository's .mat file, whose
# sha256 the registry holds (the original pickles have no published hash).
DATASETS = {
    "nottingham": ("Nottingham", "Nottingham.pickle", "Nottingham.mat"),
    "jsb": ("JSB Chorales", "JSB Chorales.pickle", "JSB_Chorales.mat"),
    "piano": ("Piano-midi.de", "Piano-midi.de.pickle", "Piano_midi.mat"),
    "muse": ("MuseData", "MuseData.pickle", "MuseData.mat"),
    "bach": ("Bach chorales (music21 corpus)", "", ""),
}
SPLITS = ("train", "valid", "test")


class BadMusicFile(DatasetUnavailable):
    """A music file that is there but cannot be read as piano rolls; the message names it."""


@dataclass
class MusicData:
    name: str
    title: str
    train: list[np.ndarray]  # each (frames, 88) float32 of 0/1
    valid: list[np.ndarray]
    test: list[np.ndarray]
    source: Source

    def frames(self, split: str = "train") -> int:
        return sum(len(p) for p in getattr(self, split))

    def summary(self) -> str:
        return (f"{self.title}: {len(self.train)}/{len(self.valid)}/{len(self.test)} pieces "
                f"(train/valid/test), {self.frames('train'):,} training frames of 88 keys. "
                f"Source — {self.source.describe()}")

    def key_frequency(self) -> np.ndarray:
        """How often each key is down in a training frame (the per-key baseline's model)."""
        return np.concatenate(self.train).mean(0)


# --- reading ---------------------------------------------------------------------------------

def roll(frames, name: str = "") -> np.ndarray:
    """A piece as a list of frames (tuples of MIDI pitches) → (frames, 88) float32."""
    out = np.zeros((len(frames), KEYS), np.float32)
    for t, frame in enumerate(frames):
        for pitch in frame:
            k = int(pitch) - LOW
            if not 0 <= k < KEYS:
                raise BadMusicFile(f"{name}: pitch {pitch} is outside the piano's 21–108")
            out[t, k] = 1.0
    return out


def read_pickle(path: Path) -> dict[str, list[np.ndarray]]:
    try:
        with open(path, "rb") as f:
            raw = pickle.load(f, encoding="latin1")
        if not isinstance(raw, dict) or not all(s in raw for s in SPLITS):
            raise ValueError(f"expected a dict with {', '.join(SPLITS)}, found {type(raw).__name__}"
                             + (f" with {sorted(map(str, raw))[:5]}" if isinstance(raw, dict) else ""))
        return {s: [roll(piece, path.name) for piece in raw[s]] for s in SPLITS}
    except BadMusicFile:
        raise
    except Exception as exc:  # noqa: BLE001 - any unreadable pickle gets the same clear message
        raise BadMusicFile(f"{path.name} is not a piano-roll pickle ({type(exc).__name__}: {exc}); replace it with "
                           f"the original file, or delete it to use another source") from exc


def read_mat(path: Path) -> dict[str, list[np.ndarray]]:
    from scipy.io import loadmat

    try:
        m = loadmat(str(path))
        out = {s: [np.asarray(p, np.float32) for p in m[f"{s}data"][0]] for s in SPLITS}
        if any(p.ndim != 2 or p.shape[1] != KEYS for ps in out.values() for p in ps):
            raise ValueError("pieces are not 88-key rolls")
        return out
    except Exception as exc:  # noqa: BLE001
        raise BadMusicFile(f"{path.name} is not a TCN piano-roll .mat file ({type(exc).__name__}: {exc})") from exc


def _folders() -> list[Path]:
    root = data_dir()
    return [root / FOLDER, root / FOLDER / "tcn_mat", root]


def _bach(progress: Progress | None = None, limit: int = 120) -> dict[str, list[np.ndarray]]:
    """Bach chorales from music21's corpus as rolls of quarter-note frames, cached as .npz
    (parsing takes about a second a chorale); split 60/20/20 in corpus order."""
    cache = cache_dir() / "music" / f"bach-chorales-{limit}.npz"
    if cache.exists():
        z = np.load(cache)
        return {s: [z[k] for k in sorted(z.files, key=lambda n: int(n.split("-")[1])) if k.startswith(s)]
                for s in SPLITS}
    from music21 import corpus

    pieces = []
    paths = [p for p in corpus.getComposer("bach") if "bwv" in p.name][:limit]
    for i, path in enumerate(paths):
        if progress:
            progress(i / len(paths), f"turning Bach chorale {i + 1} of {len(paths)} into a piano roll")
        try:
            pieces.append(_score_roll(corpus.parse(path)))
        except Exception:  # noqa: BLE001,S112 - a chorale music21 cannot read is left out
            continue
    n = len(pieces)
    cut = {"train": pieces[:int(0.6 * n)], "valid": pieces[int(0.6 * n):int(0.8 * n)], "test": pieces[int(0.8 * n):]}
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(f".{cache.stem}.{os.getpid()}.tmp.npz")  # whole, then renamed: readers never see half
    np.savez_compressed(tmp, **{f"{s}-{i}": p for s, ps in cut.items() for i, p in enumerate(ps)})
    os.replace(tmp, cache)
    return cut


def _score_roll(score, step: float = 1.0) -> np.ndarray:
    """A music21 score → (frames, 88): a key is down in every frame its note sounds during."""
    notes = score.flatten().notes
    end = float(score.highestTime)
    out = np.zeros((max(1, int(np.ceil(end / step))), KEYS), np.float32)
    for n in notes:
        start, stop = float(n.offset), float(n.offset + n.quarterLength)
        for p in n.pitches:
            k = p.midi - LOW
            if 0 <= k < KEYS:
                out[int(start // step):max(int(start // step) + 1, int(np.ceil(stop / step))), k] = 1.0
    return out


def on_disk(name: str) -> Path | None:
    """The collection's file in the data directory, if it is there."""
    _, pkl, mat = DATASETS[name]
    return next((folder / f for folder in _folders() for f in (pkl, mat) if f and (folder / f).is_file()), None)


def default_dataset() -> str:
    """Nottingham when its file is in the data directory, else the Bach chorales every machine has."""
    return "nottingham" if on_disk("nottingham") is not None else "bach"


def load(name: str, progress: Progress | None = None) -> MusicData:
    """The dataset's rolls (raises DatasetUnavailable — or BadMusicFile, naming the file — when no
    source has it, saying what to put where)."""
    if name not in DATASETS:
        raise ValueError(f"unknown music dataset {name!r}; choose from {list(DATASETS)}")
    title, pkl, mat = DATASETS[name]
    if name == "bach":
        return MusicData(name, title, **_bach(progress), source=Source("bundled", "music21's corpus (Bach chorales)",
                                                                        "turned into piano rolls, a quarter note a frame"))
    if (path := on_disk(name)) is not None:
        read = read_pickle if path.suffix == ".pickle" else read_mat
        return MusicData(name, title, **read(path), source=Source("data_dir", str(path)))
    if downloads_allowed() and mat:
        try:  # the TCN repository's .mat file, checked against its sha256 (DLPLAY_DATA_URL: from the mirror)
            registry.fetch("music", data_dir(), progress, only=(f"{FOLDER}/tcn_mat/{mat}",))
            path = data_dir() / FOLDER / "tcn_mat" / mat
            return MusicData(name, title, **read_mat(path), source=Source("download", str(path)))
        except OSError as exc:
            reason = f"the download failed ({exc})"
    else:
        reason = "downloads are off (DLPLAY_OFFLINE)"
    fix = (f"put {pkl} (or the TCN repository's {mat}) into {in_data_dir(FOLDER)}{ask()}" if shared() else
           f"put {pkl} (or the TCN repository's {mat}) into {data_dir() / FOLDER}, or set DLPLAY_DATA_DIR to a "
           f"folder holding {FOLDER}/{pkl}")
    raise DatasetUnavailable(text(f"{title} is not there: {fix}; {reason}. Bach chorales from music21 always work."))
