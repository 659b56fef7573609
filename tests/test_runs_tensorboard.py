"""A stored run written as TensorBoard event files, read back with TensorBoard's own reader."""
import io
import zipfile

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from dlplay import runs
from dlplay.runs import tensorboard
from tests.test_pages_runs import home, train_run  # noqa: F401 - the fixture and the helper

PAGE = "pages/runs.py"


def test_a_run_becomes_event_files_with_its_curves_weights_and_settings(home, tmp_path):  # noqa: F811
    run = train_run(2, (32,))
    logdir = tensorboard.write(run, tmp_path)
    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    acc.Reload()
    tags = acc.Tags()
    rows = runs.get_store().metrics(run.id)
    train_rows = [r for r in rows if r.get("split") == "train" and "loss" in r]
    written = acc.Scalars("train/loss")
    assert [e.step for e in written] == [r["step"] for r in train_rows]
    assert [round(e.value, 5) for e in written] == [round(r["loss"], 5) for r in train_rows]
    assert {"epoch/val_acc", "epoch/val_loss"} <= set(tags["scalars"]), tags["scalars"]
    assert len(acc.Scalars("epoch/val_acc")) == 2, "one point per epoch"
    weights = [t for t in tags["histograms"] if t.startswith("weights/")]
    assert any(t.endswith("weight") for t in weights) and any(t.endswith("bias") for t in weights), weights
    hist = acc.Histograms(weights[0])[-1].histogram_value
    assert hist.num > 1 and hist.min < hist.max
    assert (logdir / "hparams").is_dir(), "the settings as HParams, to compare runs in TensorBoard"


def test_the_runs_page_offers_the_tensorboard_zip(apptest, home):  # noqa: F811
    run = train_run(1, (16,))
    at = apptest(PAGE).run()
    at.multiselect(key="runs-chosen").set_value([run.id]).run()
    assert not at.exception
    assert "TensorBoard" in [d.proto.label for d in at.get("download_button")]
    names = zipfile.ZipFile(io.BytesIO(tensorboard.zip_bytes(run))).namelist()
    assert any("events.out.tfevents" in n for n in names) and all(n.startswith(f"dlplay-run-{run.id}-") for n in names)
