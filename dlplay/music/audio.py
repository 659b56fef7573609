"""Piano rolls as MIDI files (pretty_midi) and as sound to play in the browser: FluidSynth with
Debian's General MIDI soundfont when it is installed, pretty_midi's own sine-wave synthesiser
when it is not. A key held over consecutive frames is one note, not a stutter of repeats.

An uploaded MIDI file is checked before anything is built from it. MIDI stores time as ticks
between events, so 43 bytes can hold one note of a million seconds: pretty_midi's piano roll of
it took 5.6 GB and 14 s (of 1e5 s: 562 MB and 1.5 s; longer ones do not fit in memory at all).
`check_midi` reads the bytes once, counting as it goes and building nothing, and refuses a file
past the limits below before mido (an object per event) or pretty_midi (an array per tick, a roll
per frame) see it: each of those files is refused in a millisecond.
"""
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

# What an uploaded MIDI file may hold. The longest pieces of the test collections last about ten
# minutes and hold under 7,000 notes and 16,000 events in under 70 KB; the lesson continues a piece's first
# frames. A file at every limit at once is read in about a second and 25 MB.
MAX_BYTES = 512 * 1024  # events take 3 to 6 bytes: room for MAX_EVENTS and lyrics; bigger files are refused unread
MAX_SECONDS = 10 * 60  # 10 minutes: 2,400 frames, a roll of 2.5 MB for each part while pretty_midi builds it
MAX_NOTES = 20_000  # ten minutes of 33 notes a second, faster than a virtuoso plays
MAX_EVENTS = 60_000  # notes, pedal, bends…: mido and pretty_midi make objects of each (~0.9 s, ~23 MB at the limit)
MAX_TICKS = 3_000_000  # pretty_midi keeps a float per tick (24 MB); ten minutes at 960 ticks a beat and 300 BPM
MAX_PARTS = 64  # instruments (track × channel × program): each is rolled out on its own
MIN_BPM, MAX_BPM = 10, 1_000  # music is played at about 30 to 300 beats a minute; beyond this, a damaged file
MAX_RENDER_SECONDS = 3 * 60  # sound made on the server: 3 minutes of 22 kHz WAV is 8 MB (a continuation is ≤ 80 s)


class BadMidi(ValueError):
    """An uploaded or stored MIDI file that cannot be read, or is past the limits; the message
    says so plainly, in words a learner can act on."""


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


# --- reading an uploaded file -----------------------------------------------------------------------

_LENGTHS = {0x80: 3, 0x90: 3, 0xA0: 3, 0xB0: 3, 0xC0: 2, 0xD0: 2, 0xE0: 3,  # channel messages by kind
            0xF1: 2, 0xF2: 3, 0xF3: 2, 0xF6: 1, 0xF8: 1, 0xFA: 1, 0xFB: 1, 0xFC: 1, 0xFE: 1}  # system ones mido reads


def _unreadable(why: str) -> BadMidi:
    return BadMidi(f"This is not a MIDI file that can be read ({why}).")


def _length(s: float) -> str:
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60)} s"
    return f"{s / 3600:,.1f} hours" if s < 3 * 86400 else f"{s / 86400:,.0f} days"


def check_midi(data: bytes) -> float:
    """The file's length in seconds, or BadMidi for a file past the limits (MAX_BYTES, MAX_EVENTS,
    MAX_NOTES, MAX_TICKS, the tempo range, MAX_SECONDS), read from its bytes once, building nothing:
    60,000 events are counted, and refused, in ~0.07 s. The reading is mido's (which pretty_midi uses)
    and never laxer, so a file it passes is at most MAX_EVENTS messages to mido. The length is
    pretty_midi's: the last note, pedal or bend, at the tempo changes of the first track."""
    if len(data) > MAX_BYTES:
        raise BadMidi(f"The file is {len(data) / 1024:,.0f} KB; MIDI files up to {MAX_BYTES // 1024} KB are read — "
                      "upload a shorter piece.")
    if len(data) < 14 or data[:4] != b"MThd":
        raise _unreadable("it does not start with a MIDI header")
    _, n_tracks, per_beat = (int.from_bytes(data[i:i + 2], "big", signed=True) for i in (8, 10, 12))
    if per_beat <= 0:
        raise _unreadable("its timing is in SMPTE frames or zero ticks per beat, not beats")
    pos, count, end, tempos = 8 + int.from_bytes(data[4:8], "big"), [0, 0], 0, [(0, 500_000)]
    for track in range(n_tracks):
        if data[pos:pos + 4] != b"MTrk":
            raise _unreadable(f"track {track + 1} of {n_tracks} is missing")
        start, pos = pos + 8, pos + 8 + int.from_bytes(data[pos + 4:pos + 8], "big")
        try:
            end = max(end, _track(data, start, pos, count, tempos if track == 0 else None))
        except IndexError:
            raise _unreadable(f"track {track + 1} is cut off") from None
    seconds, (at, tempo) = 0.0, tempos[0]
    for tick, new in tempos[1:]:
        if tick >= end:
            break
        seconds, at, tempo = seconds + (tick - at) * tempo / per_beat / 1e6, tick, new
    seconds += (end - at) * tempo / per_beat / 1e6
    if seconds > MAX_SECONDS:
        raise BadMidi(f"It lasts {_length(seconds)}; pieces of up to {MAX_SECONDS // 60} minutes are read — "
                      "upload a shorter piece, or its beginning.")
    return seconds


def _varint(data: bytes, i: int) -> tuple[int, int]:
    """A MIDI number (7 bits a byte, the top bit saying "more") at i, and where it ends."""
    value = 0
    while data[i] & 0x80:
        value, i = (value << 7) | (data[i] & 0x7F), i + 1
    return (value << 7) | data[i], i + 1


def _track(data: bytes, i: int, stop: int, count: list[int], tempos: list | None) -> int:
    """Walks the track's events in data[i:stop] as mido does, adding them to count = [events, notes]
    (BadMidi past the limits); appends its tempo changes to `tempos` (the first track's, as pretty_midi
    reads them); returns the tick of its last channel event (note, pedal, bend…)."""
    tick, status, end = 0, 0, 0
    while i < stop:
        delta, i = _varint(data, i)
        tick += delta
        if data[i] & 0x80:  # a status byte: the event's kind
            kind, at = data[i], i + 1
            status = status if kind == 0xFF else kind  # as mido: every kind but a meta event runs on
        elif status:  # "running status": the last kind again, and this byte is already data
            kind, at = status, i
        else:
            raise _unreadable("an event has no kind")
        if kind in (0xFF, 0xF0, 0xF7):  # a meta event or system exclusive: a length, then data
            size, j = _varint(data, i + 2 if kind == 0xFF else i + 1)
            if kind == 0xFF and data[i + 1] == 0x51:  # a tempo, in µs a beat
                tempo = int.from_bytes(data[j:j + 3], "big")
                bpm = 6e7 / tempo if tempo else float("inf")
                if not MIN_BPM <= bpm <= MAX_BPM:
                    raise BadMidi(f"Its tempo of {bpm:,.3g} beats a minute is outside {MIN_BPM}–{MAX_BPM:,}: the "
                                  "file is probably damaged — upload another one.")
                if tempos is not None and tick == 0:
                    tempos[:] = [(0, tempo)]  # pretty_midi: a tempo at the start replaces the default
                elif tempos is not None:
                    tempos.append((tick, tempo))
            i = j + size
        else:
            n = _LENGTHS.get(kind & 0xF0 if kind < 0xF0 else kind, 0) - 1  # its data bytes
            if n < (at == i) or at + n > stop or any(b & 0x80 for b in data[at:at + n]):
                raise _unreadable("an event is of no known kind")
            count[1] += kind & 0xF0 == 0x90 and data[at + n - 1] > 0  # a note-on of velocity 0 ends a note
            i, end = at + n, tick
        count[0] += 1
        if count[1] > MAX_NOTES:
            raise BadMidi(f"It holds more than {MAX_NOTES:,} notes; pieces of up to {MAX_NOTES:,} notes are read — "
                          "upload a shorter piece.")
        if count[0] > MAX_EVENTS:
            raise BadMidi(f"It holds more than {MAX_EVENTS:,} events (notes, pedal and controller changes); up to "
                          f"{MAX_EVENTS:,} are read — upload a shorter piece.")
        if tick > MAX_TICKS:
            raise BadMidi(f"Its events run past tick {MAX_TICKS:,}, more than {MAX_SECONDS // 60} minutes of music "
                          "needs: the file is probably damaged — upload another one.")
    if i != stop:
        raise _unreadable("a track is cut off")
    return end


def read_midi(data: bytes, seconds_per_frame: float = 0.25) -> np.ndarray:
    """MIDI bytes → (frames, 88) piano roll sampled every `seconds_per_frame`; BadMidi if it can't be
    read or is past the limits (`check_midi`, then MAX_PARTS). Each part is rolled out on its own and
    added in, so memory holds one part's roll (pretty_midi's sum would hold them all)."""
    import mido
    import pretty_midi

    check_midi(data)
    try:
        pm = pretty_midi.PrettyMIDI(mido_object=mido.MidiFile(file=io.BytesIO(data)))
    except Exception as exc:  # noqa: BLE001 - mido/pretty_midi raise many kinds
        raise _unreadable(f"{type(exc).__name__}: {exc}") from exc
    parts = [inst for inst in pm.instruments if inst.notes]
    if len(parts) > MAX_PARTS:
        raise BadMidi(f"It has {len(parts)} instrument parts; up to {MAX_PARTS} are read — upload an arrangement "
                      "with fewer parts.")
    fs = 1.0 / seconds_per_frame
    frames = max((int(fs * inst.get_end_time()) for inst in parts), default=0)
    if frames > MAX_SECONDS * fs + 1:  # check_midi measured it already; this only keeps a mismatch harmless
        raise BadMidi(f"It lasts {_length(frames / fs)}; pieces of up to {MAX_SECONDS // 60} minutes are read — "
                      "upload a shorter piece, or its beginning.")
    roll = np.zeros((frames, 88), bool)
    for inst in parts:
        keys = inst.get_piano_roll(fs=fs)[LOW:LOW + 88].T > 0  # sustain pedal held notes on, drums silent
        roll[:len(keys)] |= keys
    return roll.astype(np.float32)


# --- sound ---------------------------------------------------------------------------------------------------

def soundfont() -> Path | None:
    return next((p for p in SOUNDFONTS if p.is_file()), None)


def fluidsynth_ready() -> bool:
    return shutil.which("fluidsynth") is not None and soundfont() is not None


def render_wav(roll: np.ndarray, seconds_per_frame: float = 0.25, prefer_fluidsynth: bool = True) -> tuple[bytes, str]:
    """WAV bytes of the roll played, and which synthesiser played it; a roll longer than
    MAX_RENDER_SECONDS is played up to there (synthesis time and memory grow with the length)."""
    frames = int(MAX_RENDER_SECONDS / seconds_per_frame)
    cut = f" — its first {MAX_RENDER_SECONDS // 60} minutes" if len(roll) > frames else ""
    roll = roll[:frames]
    if prefer_fluidsynth and fluidsynth_ready():
        try:
            return _fluidsynth(midi_bytes(roll, seconds_per_frame)), f"FluidSynth (General MIDI piano){cut}"
        except (OSError, subprocess.SubprocessError):
            pass  # the sine synthesiser below still plays it
    audio = to_midi(roll, seconds_per_frame).synthesize(fs=RATE)
    return _wav(audio), f"pretty_midi's sine-wave synthesiser (FluidSynth is not installed){cut}"


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
