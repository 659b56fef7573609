"""Piano rolls from every source, and rolls as MIDI and sound."""
import io
import pickle
import wave

import numpy as np
import pytest

from dlplay.data import DatasetUnavailable
from dlplay.music import audio, rolls
from tests.conftest import SHARED_DATA, need_shared


def test_the_pickles_and_mat_files_hold_the_published_splits():
    need_shared("polyphonic_music", "Nottingham.pickle")
    nott = rolls.load("nottingham")
    assert (len(nott.train), len(nott.valid), len(nott.test)) == (694, 173, 170)
    assert nott.frames("train") == 176_561 and nott.train[0].shape[1] == 88
    assert "Nottingham.pickle" in nott.summary()
    assert set(np.unique(nott.train[0])) == {0.0, 1.0}
    mat = rolls.read_mat(need_shared("polyphonic_music", "tcn_mat", "Nottingham.mat"))
    assert all(np.array_equal(a, b) for a, b in zip(mat["test"], nott.test)), "the pickle was rebuilt from the .mat"
    muse = rolls.load("muse")  # no pickle: read from the .mat file
    assert len(muse.train) == 524 and "MuseData.mat" in muse.summary()


def test_bad_and_missing_files_say_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("DLPLAY_DATA_DIR", str(tmp_path))
    with pytest.raises(DatasetUnavailable, match=r"put Nottingham.pickle .* into .*polyphonic_music"):
        rolls.load("nottingham")
    folder = tmp_path / "polyphonic_music"
    folder.mkdir()
    (folder / "Nottingham.pickle").write_bytes(b"not a pickle at all")
    with pytest.raises(rolls.BadMusicFile, match="Nottingham.pickle is not a piano-roll pickle"):
        rolls.load("nottingham")
    (folder / "Nottingham.pickle").write_bytes(pickle.dumps({"train": [[(200,)]], "valid": [], "test": []}))
    with pytest.raises(rolls.BadMusicFile, match="pitch 200 is outside the piano"):
        rolls.load("nottingham")
    (folder / "Nottingham.pickle").write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(rolls.BadMusicFile, match="expected a dict with train, valid, test"):
        rolls.load("nottingham")


def test_bach_chorales_from_music21_when_nothing_else_is_there(tmp_path, monkeypatch):
    monkeypatch.setenv("DLPLAY_CACHE_DIR", str(tmp_path))
    cut = rolls._bach(limit=5)
    pieces = cut["train"] + cut["valid"] + cut["test"]
    assert len(pieces) == 5 and len(cut["train"]) == 3
    # Four voices: most quarter-note frames hold four keys.
    assert np.median(np.concatenate(pieces).sum(1)) == 4
    again = rolls._bach(limit=5)  # from the cache now
    assert all(np.array_equal(a, b) for a, b in zip(again["train"], cut["train"]))


def test_a_roll_becomes_midi_and_back_and_is_heard():
    need_shared("polyphonic_music", "JSB Chorales.pickle")
    piece = rolls.load("jsb").test[0][:40]
    midi = audio.midi_bytes(piece)
    assert np.array_equal(audio.read_midi(midi)[:40], piece)
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(io.BytesIO(midi))
    held = np.diff(np.vstack([np.zeros((1, 88)), piece]), axis=0) == 1
    assert len(pm.instruments[0].notes) == int(held.sum()), "a key held over frames is one note"
    sine, who = audio.render_wav(piece, prefer_fluidsynth=False)
    with wave.open(io.BytesIO(sine)) as w:
        assert "sine" in who and abs(w.getnframes() / w.getframerate() - 40 * 0.25) < 1.5
    assert audio.fluidsynth_ready(), "scripts/setup.sh installs fluidsynth and fluid-soundfont-gm"
    sound, who = audio.render_wav(piece)
    with wave.open(io.BytesIO(sound)) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), np.int16)
        assert "FluidSynth" in who and 40 * 0.25 <= w.getnframes() / w.getframerate() < 40 * 0.25 + 4
        assert np.abs(samples).max() > 1000, "not silence"


def test_an_unreadable_midi_file_is_a_plain_message():
    with pytest.raises(audio.BadMidi, match="not a MIDI file that can be read"):
        audio.read_midi(b"MThd but not really")


def test_online_a_missing_collection_downloads_once(tmp_path, monkeypatch):
    """The download path, from a mirror of the data directory on loopback (DLPLAY_DATA_URL): the
    TCN .mat file of JSB Chorales, checked against the registry's sha256, read, then kept."""
    import functools
    import http.server
    import threading

    need_shared("polyphonic_music", "tcn_mat", "JSB_Chorales.mat")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(SHARED_DATA))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("DLPLAY_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("DLPLAY_OFFLINE", "0")
        monkeypatch.setenv("DLPLAY_DATA_URL", f"http://127.0.0.1:{server.server_port}")
        seen = []
        got = rolls.load("jsb", progress=lambda f, text: seen.append(f))
        assert got.source.kind == "download" and len(got.train) == 229 and seen and seen[-1] == 1.0
        assert (tmp_path / "data" / "polyphonic_music" / "tcn_mat" / "JSB_Chorales.mat").is_file()
        assert rolls.load("jsb").source.kind == "data_dir", "the second time it is on disk"
    finally:
        server.shutdown()
