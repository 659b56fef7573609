"""The test files rebuilt for this data set, made again from their originals, byte for byte.

Five files of the test data were not downloaded as they are but rebuilt (../shared/data/SOURCES.md): two
music pickles from the TCN repository's `.mat` rolls, and the IMDB subset (its listing and its 5,000
reviews) and CSVs from the labelled reviews. Without a mirror, `dlplay.registry` makes them here from
the originals — the `.mat` files (checked against their sha256) and Stanford's `aclImdb_v1.tar.gz`
(checked against its md5) — in the very layout they were made in, and checks each against the
registry's sha256: a file that would differ is never written.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import pickle
import re
import tarfile
from pathlib import Path

from .fetching import FetchFailed, Progress, download

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_MD5 = "7c2ac02c03563afcf9b574c7e56c153a"  # torchtext's checksum of aclImdb_v1.tar.gz
SUBSET = 1250  # the subset's reviews: ids 0–1,249 of each split and label
REVIEW = re.compile(r"aclImdb/(train|test)/(neg|pos)/(\d+)_(\d+)\.txt")

def make(key: str, dest: Path, sha256: dict[str, str], progress: Progress | None = None) -> None:
    """Make the rebuilt files of `key` ("nottingham", "piano", "imdb") that `dest` lacks, each checked
    against `sha256` (path → the registry's hash). The music recipes read their `.mat` file in `dest`."""
    made = _imdb(dest, progress) if key == "imdb" else _music_pickle(key, dest)
    for path, payload in made.items():  # the reviews are not in the registry: their listing is, and checks them
        if path in sha256 and hashlib.sha256(payload).hexdigest() != sha256[path]:
            raise FetchFailed(f"{path} made from its original is not the registry's file (its sha256 differs)")
    for path, payload in made.items():
        if not (dest / path).is_file():
            _write(dest, path, payload)


def _write(dest: Path, path: str, payload: bytes) -> None:
    target = dest / path
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    part.write_bytes(payload)
    part.replace(target)


# --- music: Boulanger-Lewandowski's pickle layout from the TCN rolls -----------------------------------

MUSIC = {"nottingham": ("Nottingham.mat", "Nottingham.pickle"), "piano": ("Piano_midi.mat", "Piano-midi.de.pickle")}


def _music_pickle(key: str, dest: Path) -> dict[str, bytes]:
    """A dict of train/valid/test lists of pieces, each a list of frames, each a tuple of the MIDI
    pitches down (key index + 21, plain ints), pickled with protocol 2: how they were rebuilt."""
    import numpy as np
    from scipy.io import loadmat

    mat, name = MUSIC[key]
    rolls = loadmat(dest / "polyphonic_music" / "tcn_mat" / mat)
    pieces = {split: [[tuple(int(k) + 21 for k in np.flatnonzero(frame)) for frame in piece]
                      for piece in rolls[f"{split}data"][0]] for split in ("train", "valid", "test")}
    return {f"polyphonic_music/{name}": pickle.dumps(pieces, protocol=2)}


# --- IMDB: the subset, its listing, and the CSVs of all labelled reviews --------------------------------

def _imdb(dest: Path, progress: Progress | None) -> dict[str, bytes]:
    """The subset's reviews, its README and listing, and both CSVs."""
    from .places import cache_dir

    archive = download(IMDB_URL, cache_dir() / "archives" / "aclImdb_v1.tar.gz", f"md5:{IMDB_MD5}", progress)
    reviews: dict[tuple[str, str], dict[int, tuple[int, bytes]]] = {}
    readme = b""
    with tarfile.open(archive) as tar:
        for member in tar:
            if member.name == "aclImdb/README":
                readme = tar.extractfile(member).read()
            elif m := REVIEW.fullmatch(member.name):
                split, label, i, rating = m.groups()
                reviews.setdefault((split, label), {})[int(i)] = (int(rating), tar.extractfile(member).read())
    files = {f"aclImdb/{split}/{label}/{i}_{r}.txt": text for (split, label), by_id in sorted(reviews.items())
             for i, (r, text) in sorted(by_id.items()) if i < SUBSET}
    listing = "".join(f"{hashlib.sha256(text).hexdigest()}  {path.removeprefix('aclImdb/')}\n"
                      for path, text in files.items()).encode()
    made = {"aclImdb/README": readme, "aclImdb_subset.sha256": listing,
            **{f"imdb_csv/imdb_{split}.csv.gz": _csv(split, reviews) for split in ("train", "test")}}
    return {**made, **files}


def _csv(split: str, reviews: dict) -> bytes:
    """All 25,000 reviews of a split as review,sentiment,rating,source_file (negative first, by id),
    gzipped at level 9 with no time stamp, as the CSVs were made."""
    text = io.StringIO(newline="")
    out = csv.writer(text, lineterminator="\n")
    out.writerow(["review", "sentiment", "rating", "source_file"])
    for label, sentiment in (("neg", "negative"), ("pos", "positive")):
        for i, (rating, review) in sorted(reviews.get((split, label), {}).items()):
            out.writerow([review.decode("utf-8"), sentiment, rating, f"{split}/{label}/{i}_{rating}.txt"])
    packed = io.BytesIO()
    with gzip.GzipFile(filename=f"imdb_{split}.csv", mode="wb", fileobj=packed, compresslevel=9, mtime=0) as g:
        g.write(text.getvalue().encode("utf-8"))
    return packed.getvalue()


__all__ = ["IMDB_MD5", "IMDB_URL", "make"]
