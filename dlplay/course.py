"""The course: every page named once — its section, title, icon, script, key and lesson.

app.py builds the menu from it, `dlplay.runs.lesson` finds a page's `Lesson` through it (and
takes the title and script a run is stored with from it), pages take their key from it, and
the tests walk it. A page's key prefixes its widgets, its address-bar settings and its stored
runs, so a key never changes once runs are stored under it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

APP_DIR = Path(__file__).resolve().parents[1] / "dlplay_app"  # where the app and its pages/ live


@dataclass(frozen=True)
class Page:
    key: str  # "cnn": prefixes the page's widgets and settings; the page of its stored runs
    section: str
    title: str
    icon: str
    path: str  # the page script, relative to the app's folder (APP_DIR): "pages/vision/cnn.py"
    lesson: str | None = None  # "module:attribute" of its `dlplay.runs.Lesson`, if it trains runs
    long_title: str | None = None  # the page's own heading, when longer than its name in the menu

    @property
    def heading(self) -> str:
        return self.long_title or self.title

    @property
    def url(self) -> str:
        """Its address on the app, as Streamlit derives it from the script's name: "/cnn"."""
        return "/" + Path(self.path).stem


_P = Page
COURSE: tuple[Page, ...] = (
    _P("home", "Start", "Welcome", "🏠", "pages/home.py"),
    _P("runs", "Start", "Runs", "📚", "pages/runs.py"),
    _P("assign", "Start", "Assignment", "📋", "pages/assignment.py", long_title="Your assignment"),
    _P("teach", "Start", "Teacher", "🧑‍🏫", "pages/teacher.py", long_title="Teacher: set assignments, see the class"),
    _P("ex", "Start", "Exercises", "✍️", "pages/exercises.py", "dlplay.exercises.lesson:LESSON", long_title="Exercises: write it yourself"),
    _P("pc", "From scratch (NumPy)", "Perceptron", "➗", "pages/scratch/perceptron.py"),
    _P("gates", "From scratch (NumPy)", "Logic gates & XOR", "🔀", "pages/scratch/logic_gates.py",
       "dlplay.scratch.gates:LESSON"),
    _P("npdigits", "From scratch (NumPy)", "NumPy MLP on digits", "🔢", "pages/scratch/numpy_digits.py",
       "dlplay.scratch.digits:LESSON"),
    _P("regsel", "From scratch (NumPy)", "Regression & model selection", "📈", "pages/scratch/regression.py",
       "dlplay.scratch.selection:LESSON"),
    _P("pg", "Neural networks", "2-D playground", "🎛️", "pages/playground/playground.py",
       "dlplay.playground.lesson:LESSON"),
    _P("mlp", "Neural networks", "Digit classifier (MLP)", "✍️", "pages/digit_classifier.py", "dlplay.classify:LESSON"),
    _P("ae", "Generative models", "Autoencoders vs SVD", "🗜️", "pages/generative/autoencoders.py",
       "dlplay.generative.autoencoders:LESSON"),
    _P("dn", "Generative models", "Denoising autoencoders", "🧽", "pages/generative/denoising.py",
       "dlplay.generative.denoise:LESSON"),
    _P("morph", "Generative models", "Latent morphing", "🌀", "pages/generative/latent_morphing.py",
       "dlplay.generative.morph:LESSON"),
    _P("vae", "Generative models", "Variational autoencoder", "🌌", "pages/generative/vae.py",
       "dlplay.generative.vae:LESSON", "Variational autoencoder (VAE)"),
    _P("gan", "Generative models", "DCGAN", "🎨", "pages/generative/dcgan.py", "dlplay.generative.gan:LESSON",
       "DCGAN: a generative adversarial network"),
    _P("cnn", "Convolutional networks", "CNN builder", "🧱", "pages/vision/cnn.py", "dlplay.vision.cnn:LESSON"),
    _P("cnncmp", "Convolutional networks", "Compare CNNs", "⚖️", "pages/vision/compare.py"),
    _P("inside", "Convolutional networks", "Inside a trained network", "🔬", "pages/vision/inside.py"),
    _P("tl", "Convolutional networks", "Transfer learning", "🎁", "pages/vision/transfer.py",
       "dlplay.vision.transfer:LESSON"),
    _P("forget", "Convolutional networks", "Catastrophic forgetting", "🔁", "pages/vision/forgetting.py",
       "dlplay.vision.forgetting:LESSON"),
    _P("imgreg", "Convolutional networks", "Image regression from files", "📏", "pages/vision/image_regression.py",
       "dlplay.vision.regression:LESSON"),
    _P("sent", "Sequences and text", "Sentiment: RNN to Transformer", "💬", "pages/text/sentiment.py",
       "dlplay.text.sentiment:LESSON"),
    _P("emb", "Sequences and text", "Word embeddings", "🧭", "pages/text/embeddings.py", "dlplay.text.word2vec:LESSON"),
    _P("seqae", "Sequences and text", "Sequence autoencoder", "🔤", "pages/text/seq_autoencoder.py",
       "dlplay.text.seqae:LESSON"),
    _P("overfit", "Training craft", "Overfitting lab", "🎯", "pages/craft/overfitting.py",
       "dlplay.craft.overfit:LESSON"),
    _P("pipe", "Training craft", "Shuffle, batch, repeat", "🔀", "pages/craft/pipeline_order.py",
       "dlplay.craft.pipeline:LESSON"),
    _P("search", "Training craft", "Hyperparameter search", "🔎", "pages/craft/search.py",
       "dlplay.craft.search:LESSON"),
    _P("diag", "Training craft", "Training diagnosis", "🩺", "pages/craft/diagnosis.py",
       "dlplay.craft.diagnosis:LESSON"),
    _P("music", "Music", "Music with an LSTM", "🎹", "pages/music/lstm_music.py", "dlplay.music.training:LESSON"),
    _P("rl", "Reinforcement learning", "Grid-world RL", "🤖", "pages/rl/gridworld.py", "dlplay.rl.lesson:LESSON",
       "Grid-world reinforcement learning"),
)
_BY_KEY = {p.key: p for p in COURSE}
_BY_PATH = {p.path: p for p in COURSE}


def page(key: str) -> Page:
    """The page with this key (KeyError if the course has none)."""
    return _BY_KEY[key]


def here(script: str) -> Page:
    """The page of a page script (pages call `here(__file__)` for their key)."""
    path = Path(script).resolve()
    return _BY_PATH[str(path.relative_to(APP_DIR)) if path.is_relative_to(APP_DIR) else script]


def sections() -> dict[str, list[Page]]:
    """The menu: each section's pages, in course order."""
    out: dict[str, list[Page]] = {}
    for p in COURSE:
        out.setdefault(p.section, []).append(p)
    return out


def lessons() -> dict[str, str]:
    """Page key → "module:attribute" of its Lesson, for the pages that train runs."""
    return {p.key: p.lesson for p in COURSE if p.lesson}
