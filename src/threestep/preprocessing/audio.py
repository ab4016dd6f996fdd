"""Audio features: MFCCs (mel-frequency cepstral coefficients), the usual input of speech models.

``mfcc`` uses librosa (``pip install "threestep[audio]"``) when it is installed and
``engine="auto"``; otherwise a NumPy implementation of the same recipe: pre-emphasis-free
power spectrum of Hann-windowed frames, a triangular mel filter bank (Slaney scale, as
librosa's default), log (dB), and an orthonormal DCT-II.

Example:
    >>> import numpy as np
    >>> from threestep.preprocessing.audio import mfcc
    >>> t = np.arange(16000) / 16000
    >>> mfcc(np.sin(2 * np.pi * 440 * t), sr=16000, engine="numpy").shape   # (frames, 13)
    (63, 13)
"""
import numpy

from ..errors import ConfigError, DataError

__all__ = ["mel_filters", "mfcc"]


def _hz_to_mel(f):
    # Slaney: linear below 1 kHz, logarithmic above
    f = numpy.asarray(f, dtype=numpy.float64)
    mel = f / (200.0 / 3)
    log_part = 15.0 + numpy.log(numpy.maximum(f, 1e-10) / 1000.0) / (numpy.log(6.4) / 27.0)
    return numpy.where(f >= 1000.0, log_part, mel)


def _mel_to_hz(m):
    m = numpy.asarray(m, dtype=numpy.float64)
    return numpy.where(m >= 15.0, 1000.0 * numpy.exp((numpy.log(6.4) / 27.0) * (m - 15.0)), m * (200.0 / 3))


def mel_filters(sr, n_fft, n_mels=40, fmin=0.0, fmax=None):
    """Triangular mel filters ``(n_mels, n_fft // 2 + 1)``, area-normalised (Slaney)."""
    fmax = sr / 2 if fmax is None else fmax
    freqs = numpy.linspace(0, sr / 2, n_fft // 2 + 1)
    edges = _mel_to_hz(numpy.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    lower = (freqs[None, :] - edges[:-2, None]) / numpy.maximum(edges[1:-1] - edges[:-2], 1e-10)[:, None]
    upper = (edges[2:, None] - freqs[None, :]) / numpy.maximum(edges[2:] - edges[1:-1], 1e-10)[:, None]
    weights = numpy.maximum(0, numpy.minimum(lower, upper))
    return weights * (2.0 / (edges[2:] - edges[:-2]))[:, None]


def _dct_matrix(n_out, n_in):
    k = numpy.arange(n_out)[:, None]
    n = numpy.arange(n_in)[None, :]
    basis = numpy.cos(numpy.pi * k * (2 * n + 1) / (2 * n_in)) * numpy.sqrt(2.0 / n_in)
    basis[0] /= numpy.sqrt(2.0)
    return basis


def mfcc(signal, sr, n_mfcc=13, n_fft=512, hop_length=256, n_mels=40, engine="auto"):
    """MFCCs of a mono signal: ``(frames, n_mfcc)`` float32, one row per ``hop_length`` samples.

    Args:
        signal: 1-D waveform (any float scale).
        sr: sample rate in Hz.
        n_mfcc: coefficients per frame.
        n_fft, hop_length: frame size and step in samples (frames are centred, as in librosa).
        n_mels: mel bands before the DCT.
        engine: ``"librosa"``, ``"numpy"``, or ``"auto"`` (librosa when installed).
    """
    signal = numpy.asarray(signal, dtype=numpy.float64)
    if signal.ndim != 1 or signal.size == 0:
        raise DataError(f"mfcc expects a non-empty 1-D waveform. Received: shape {signal.shape}.")
    if engine not in ("auto", "librosa", "numpy"):
        raise ConfigError(f"mfcc: engine must be 'auto', 'librosa' or 'numpy'. Received: engine={engine!r}.")
    if engine in ("auto", "librosa"):
        try:
            import librosa  # noqa: PLC0415
        except ImportError:
            if engine == "librosa":
                raise ConfigError("mfcc(engine='librosa') needs librosa: pip install \"threestep[audio]\" "
                                  "(or pip install librosa), or use engine='numpy'.") from None
        else:
            out = librosa.feature.mfcc(y=signal.astype(numpy.float32), sr=sr, n_mfcc=n_mfcc, n_fft=n_fft,
                                       hop_length=hop_length, n_mels=n_mels)
            return out.T.astype(numpy.float32)
    padded = numpy.pad(signal, n_fft // 2, mode="constant")
    frames = 1 + (len(padded) - n_fft) // hop_length
    index = numpy.arange(n_fft)[None, :] + hop_length * numpy.arange(frames)[:, None]
    window = 0.5 - 0.5 * numpy.cos(2 * numpy.pi * numpy.arange(n_fft) / n_fft)  # periodic Hann
    power = numpy.abs(numpy.fft.rfft(padded[index] * window, axis=1)) ** 2
    mel = power @ mel_filters(sr, n_fft, n_mels).T
    log_mel = 10.0 * numpy.log10(numpy.maximum(mel, 1e-10))
    log_mel = numpy.maximum(log_mel, log_mel.max() - 80.0)  # an 80 dB floor, as librosa's power_to_db
    return (log_mel @ _dct_matrix(n_mfcc, n_mels).T).astype(numpy.float32)
