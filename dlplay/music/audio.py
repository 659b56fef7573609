"""Piano rolls as MIDI files (pretty_midi) and as sound to play in the browser: FluidSynth with
Debian's General MIDI soundfont when it is installed, pretty_midi's own sine-wave synthesiser
when it is not. A key held over consecutive frames is one note, not a stutter of repeats."""
from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

from .rolls import LOW

SOUNDFONTS = (Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"), Path("/usr/share/sounds/sf2/default-GM.sf2"))
RATE = 22_050


class BadMidi(ValueError):
    """An uploaded or stored MIDI file that cannot be read; the message says so plainly."""


def to_midi(roll: np.ndarray, seconds_per_frame: float = 0.25, program: int = 0, velocity: int = 90):
    """(frames, 88) → a pretty_midi.PrettyMIDI with one piano track."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=program, name="piano")
    on = np.asarray(roll) > 0.5
    padded = np.vstack([np.zeros((1, on.shape[1]), bool), on, np.zeros((1, on.shape[1]), bool)])
    change = np.diff(padded.astype(np.int8), axis=0)  # +1 where a key goes down, -1 where it comes up
    for key in range(on.shape[1]):
        starts, ends = np.flatnonzero(change[:, key] == 1), np.flatnonzero(change[:, key] == -1)
        for s, e in zip(starts, ends):
            inst.notes.append(pretty_midi.Note(velocity=velocity, pitch=key + LOW, start=s * seconds_per_frame,
                                               end=e * seconds_per_frame))
    pm.instruments.append(inst)
    return pm


def midi_bytes(roll: np.ndarray, seconds_per_frame: float = 0.25) -> bytes:
    buf = io.BytesIO()
    to_midi(roll, seconds_per_frame).write(buf)
    return buf.getvalue()


def read_midi(data: bytes, seconds_per_frame: float = 0.25) -> np.ndarray:
    """MIDI bytes → (frames, 88) piano roll sampled every `seconds_per_frame`; BadMidi if unreadable."""
    import pretty_midi

    try:
        pm = pretty_midi.PrettyMIDI(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - mido/pretty_midi raise many kinds
        raise BadMidi(f"this is not a MIDI file that can be read ({type(exc).__name__}: {exc})") from exc
    roll = pm.get_piano_roll(fs=1.0 / seconds_per_frame)[LOW:LOW + 88].T
    return (roll > 0).astype(np.float32)


def soundfont() -> Path | None:
    return next((p for p in SOUNDFONTS if p.is_file()), None)


def fluidsynth_ready() -> bool:
    return shutil.which("fluidsynth") is not None and soundfont() is not None


def render_wav(roll: np.ndarray, seconds_per_frame: float = 0.25, prefer_fluidsynth: bool = True) -> tuple[bytes, str]:
    """WAV bytes of the roll played, and which synthesiser played it."""
    if prefer_fluidsynth and fluidsynth_ready():
        try:
            return _fluidsynth(midi_bytes(roll, seconds_per_frame)), "FluidSynth (General MIDI piano)"
        except (OSError, subprocess.SubprocessError):
            pass  # the sine synthesiser below still plays it
    audio = to_midi(roll, seconds_per_frame).synthesize(fs=RATE)
    return _wav(audio), "pretty_midi's sine-wave synthesiser (FluidSynth is not installed)"


def _fluidsynth(midi: bytes) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        mid, wav = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        mid.write_bytes(midi)
        subprocess.run(["fluidsynth", "-ni", "-g", "0.8", "-r", str(RATE), "-F", str(wav), str(soundfont()), str(mid)],
                       check=True, capture_output=True, timeout=60)
        return wav.read_bytes()


def _wav(audio: np.ndarray) -> bytes:
    peak = float(np.abs(audio).max()) or 1.0
    pcm = (audio / peak * 0.8 * 32767).astype(np.int16)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()
