"""Spoken words: real synthesised speech from espeak-ng, or a tiny synthetic stand-in.

:func:`spoken_words` speaks each word of a vocabulary several times with different voices,
speeds and pitches and adds noise, returning waveforms and labels. The vocabulary
:data:`WORDS` holds near pairs that sound alike (dog/dogs, never/ever, ...) and unrelated
words, for spoken-term search (query by example) without speech recognition.

``engine="espeak"`` runs the ``espeak-ng`` program (``apt-get install espeak-ng`` on
Debian/Ubuntu, ``brew install espeak-ng`` on macOS); ``engine="synthetic"`` builds a
waveform from the letters (each letter a short chord of two tones, so words that share
letters share sound), which needs nothing installed and is what the test suite uses.
Both return the same kind of data, so everything downstream runs the same code.

Example:
    >>> from threestep.datasets.speech import spoken_words
    >>> waves, labels, sr = spoken_words(["dog", "dogs"], per_word=2, engine="synthetic")
    >>> len(waves), labels, sr
    (4, ['dog', 'dog', 'dogs', 'dogs'], 16000)
"""
import os
import shutil
import subprocess
import tempfile
import wave

import numpy

from ..errors import ConfigError, DatasetError

#: Near pairs (words that sound alike) and unrelated words.
NEAR_PAIRS = (("dog", "dogs"), ("never", "ever"), ("cat", "cats"), ("light", "night"), ("sing", "sting"),
              ("water", "waiter"))
UNRELATED = ("apple", "river", "yellow", "window", "music", "garden", "computer", "thunder")
WORDS = tuple(w for pair in NEAR_PAIRS for w in pair) + UNRELATED

ESPEAK_VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029")
ESPEAK_VARIANTS = ("", "+m3", "+f2", "+f4", "+m7")
INSTALL_HINT = ("espeak-ng is not installed. Install it with `sudo apt-get install espeak-ng` (Debian/Ubuntu), "
                "`brew install espeak-ng` (macOS) or from https://github.com/espeak-ng/espeak-ng, or use "
                "engine='synthetic' for a stand-in that needs nothing.")


def espeak_available():
    """True when the ``espeak-ng`` program is on the PATH."""
    return shutil.which("espeak-ng") is not None


def _read_wav(path):
    with wave.open(path, "rb") as f:
        sr, width, frames = f.getframerate(), f.getsampwidth(), f.readframes(f.getnframes())
    if width != 2:
        raise DatasetError(f"espeak-ng wrote {8 * width}-bit audio to {path}; expected 16-bit.")
    return numpy.frombuffer(frames, dtype="<i2").astype(numpy.float32) / 32768.0, sr


def espeak(word, voice="en-us", speed=160, pitch=50):
    """One utterance of ``word`` by espeak-ng: ``(waveform float32 in [-1, 1], sample rate)``."""
    if not espeak_available():
        raise DatasetError(INSTALL_HINT)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "word.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(int(speed)), "-p", str(int(pitch)), "-w", path, word],
                       check=True, capture_output=True, timeout=60)
        return _read_wav(path)


def synthetic(word, speed=1.0, pitch=1.0, sr=16000):
    """A stand-in utterance: each letter a 60 ms chord of two tones set by the letter,
    scaled by ``pitch`` and lengthened by 1/``speed``, with a smooth envelope."""
    chunks = []
    n = int(0.06 * sr / speed)
    t = numpy.arange(n) / sr
    envelope = numpy.sin(numpy.pi * numpy.arange(n) / n)
    for ch in word.lower():
        k = ord(ch) - ord("a") if ch.isalpha() else 26
        f1, f2 = (300 + 37 * k) * pitch, (900 + 113 * ((k * 7) % 27)) * pitch
        chunks.append(envelope * (numpy.sin(2 * numpy.pi * f1 * t) + 0.5 * numpy.sin(2 * numpy.pi * f2 * t)))
    silence = numpy.zeros(int(0.05 * sr))
    return numpy.concatenate([silence] + chunks + [silence]).astype(numpy.float32) * 0.5, sr


def spoken_words(words=WORDS, per_word=10, engine="espeak", snr_db=20.0, sr=16000, seed=0):
    """Utterances of every word: ``per_word`` each, with varied voice, speed and pitch, plus noise.

    Args:
        words: the vocabulary.
        per_word: utterances per word.
        engine: ``"espeak"`` (real synthesised speech; needs espeak-ng) or ``"synthetic"``.
        snr_db: white noise added at this signal-to-noise ratio (None: no noise).
        sr: sample rate of the returned waveforms (espeak's 22,050 Hz is resampled linearly).
        seed: seeds the choice of voices, speeds, pitches and the noise.

    Returns:
        ``(waveforms, labels, sr)``: a list of float32 arrays, the word of each, the rate.
    """
    if engine not in ("espeak", "synthetic"):
        raise ConfigError(f"spoken_words: engine must be 'espeak' or 'synthetic'. Received: engine={engine!r}.")
    if engine == "espeak" and not espeak_available():
        raise DatasetError(INSTALL_HINT)
    rng = numpy.random.default_rng(seed)
    waves, labels = [], []
    for word in words:
        for _ in range(per_word):
            if engine == "espeak":
                voice = ESPEAK_VOICES[rng.integers(len(ESPEAK_VOICES))] + \
                    ESPEAK_VARIANTS[rng.integers(len(ESPEAK_VARIANTS))]
                signal, rate = espeak(word, voice, speed=int(rng.integers(120, 200)), pitch=int(rng.integers(25, 75)))
            else:
                signal, rate = synthetic(word, speed=rng.uniform(0.8, 1.25), pitch=rng.uniform(0.85, 1.15), sr=sr)
            signal = _resample(_trim(signal), rate, sr)
            if snr_db is not None:
                power = float(numpy.mean(signal ** 2)) + 1e-12
                signal = signal + rng.normal(0, numpy.sqrt(power / 10 ** (snr_db / 10)), signal.shape)
            waves.append(signal.astype(numpy.float32))
            labels.append(word)
    return waves, labels, sr


def _trim(signal, threshold=0.02):
    loud = numpy.flatnonzero(numpy.abs(signal) > threshold * (numpy.abs(signal).max() + 1e-12))
    return signal if loud.size == 0 else signal[max(loud[0] - 200, 0):loud[-1] + 200]


def _resample(signal, rate, sr):
    if rate == sr:
        return signal
    n = int(round(len(signal) * sr / rate))
    return numpy.interp(numpy.linspace(0, len(signal) - 1, n), numpy.arange(len(signal)), signal)
