"""Hostile model files: every one gives ModelFileError (or a correct load), within a stated
memory bound, and loading never writes anywhere.

The bound (docs/guarantees.md): loading a file of S bytes allocates at most
``PEAK_FACTOR * S + PEAK_SLACK`` bytes (measured with tracemalloc, which sees NumPy's
allocations too), whatever sizes, shapes or architectures the file claims.
"""
import builtins
import io
import json
import os
import struct
import tempfile
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threestep import backend
from threestep.errors import ModelFileError, ThreestepError
from threestep.layers import Dense, Dropout
from threestep.models import Sequential, load_model
from threestep.optimizers import Adam
from threestep.saving import safetensors

PEAK_FACTOR = 16  # bytes allocated per byte of file, at most (weights: the bytes, the arrays, the model's copy)
PEAK_SLACK = 24 << 20  # plus a constant for the interpreter, zipfile and the model's objects
X_PROBE = np.linspace(-1, 1, 12, dtype="float32").reshape(3, 4)


def _good_bytes():
    backend.set_seed(0)
    model = Sequential([Dense(5, activation="relu", input_shape=(4,)), Dropout(0.1), Dense(3, activation="softmax")])
    model.compile(optimizer=Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    model.fit(rng.standard_normal((16, 4)).astype("float32"), rng.integers(0, 3, 16), epochs=1, verbose=0)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "good.ts")
        model.save(path)
        with open(path, "rb") as f:
            data = f.read()
    return data, model.predict(X_PROBE)


GOOD, GOOD_PREDICTION = _good_bytes()


def _members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(info, zf.read(info)) for info in zf.infolist()]


def _zip(members, compression=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def _with(name, edit, data=GOOD):
    """GOOD with member ``name`` replaced by ``edit(old_bytes)`` (a valid zip with valid CRCs)."""
    return _zip([(info.filename, edit(raw) if info.filename == name else raw) for info, raw in _members(data)])


def _config_edit(edit):
    def apply(raw):
        config = json.loads(raw)
        edit(config)
        return json.dumps(config).encode()
    return lambda: _with("config.json", apply)


def _layer0(config):
    return config["model"]["config"]["layers"][0]["config"]


def _set_central_sizes(data, name, compressed=None, uncompressed=None):
    """The archive with the central directory's sizes of member ``name`` replaced (a size claim)."""
    data = bytearray(data)
    start = 0
    while True:
        i = data.find(b"PK\x01\x02", start)
        if i < 0:
            raise AssertionError(f"member {name} not found")
        n = struct.unpack_from("<H", data, i + 28)[0]
        if bytes(data[i + 46:i + 46 + n]).decode() == name:
            if compressed is not None:
                struct.pack_into("<I", data, i + 20, compressed)
            if uncompressed is not None:
                struct.pack_into("<I", data, i + 24, uncompressed)
            return bytes(data)
        start = i + 4


class _NoWrites:
    """Records any attempt to open a file for writing (or to create/remove one) while active."""

    def __init__(self, monkeypatch):
        self.attempts = []
        real_open, real_os_open = builtins.open, os.open

        def guarded_open(file, mode="r", *args, **kwargs):
            if any(c in mode for c in "wax+"):
                self.attempts.append(("open", file, mode))
            return real_open(file, mode, *args, **kwargs)

        def guarded_os_open(path, flags, *args, **kwargs):
            if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND):
                self.attempts.append(("os.open", path, flags))
            return real_os_open(path, flags, *args, **kwargs)
        monkeypatch.setattr(builtins, "open", guarded_open)
        monkeypatch.setattr(io, "open", guarded_open)
        monkeypatch.setattr(os, "open", guarded_os_open)
        for name in ("remove", "unlink", "rename", "replace", "mkdir", "makedirs"):
            real = getattr(os, name)
            monkeypatch.setattr(os, name, self._record(name, real))

    def _record(self, name, real):
        def wrapped(*args, **kwargs):
            self.attempts.append((name, args))
            return real(*args, **kwargs)
        return wrapped


def _load_measured(path):
    """(outcome, peak bytes): outcome is the model, or the ThreestepError raised."""
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                outcome = load_model(path)
            except ThreestepError as exc:
                outcome = exc
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _check_outcome(data, path, outcome, peak, same=False):
    """The property: a ModelFileError, or a model that predicts (``same``: exactly as the
    original did, for damage that cannot change the contents undetected); within the memory bound."""
    bound = PEAK_FACTOR * len(data) + PEAK_SLACK
    assert peak <= bound, f"loading a {len(data)}-byte file allocated {peak} bytes (bound {bound})"
    if isinstance(outcome, ThreestepError):
        assert isinstance(outcome, ModelFileError), f"{type(outcome).__name__}: {outcome}"
        assert str(path) in str(outcome) or "safetensors" in str(outcome), f"the message names no file: {outcome}"
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            prediction = outcome.predict(X_PROBE)
        except ThreestepError:
            return  # a model the edited config describes, that cannot take this probe: a clear error
    assert prediction.shape[0] == len(X_PROBE)
    if same:
        np.testing.assert_array_equal(prediction, GOOD_PREDICTION)


# ---------------------------------------------------------------------- the hostile files
def _padded_config(size):
    def pad(raw):
        return raw[:-1] + b" " * size + raw[-1:]
    return _zip([(i.filename, pad(r) if i.filename == "config.json" else r) for i, r in _members(GOOD)],
                zipfile.ZIP_DEFLATED)


def _deflated_zero_tensor(size):
    blob = safetensors.save({"0000:dense/kernel": np.zeros(size // 4, "float32")})
    members = [(i.filename, r) for i, r in _members(GOOD) if i.filename != "weights.safetensors"]
    return _zip(members + [("weights.safetensors", blob)], zipfile.ZIP_DEFLATED)


def _huge_architecture():
    """A 2 KB config that declares Dense(30000) on 30,000 inputs (3.6 GB of float32)."""
    def edit(config):
        config["model"]["config"]["layers"] = [
            {"class_name": "Dense", "config": {"units": 30000, "batch_input_shape": [None, 30000], "name": "big"}}]
    return _config_edit(edit)()


def _deep_json(depth):
    raw = b'{"format": "threestep-model", "format_version": 1, "model": ' + b"[" * depth + b"]" * depth + b"}"
    return _with("config.json", lambda _: raw)


def _optimizer_iterations(digits):
    def edit(raw):
        tensors, metadata = safetensors.load_with_metadata(raw)
        return safetensors.save(tensors, {**metadata, "iterations": "7" * digits})
    return _with("optimizer.safetensors", edit)


HOSTILE = {
    "config-deflated-80MB-padding": lambda: _padded_config(80 << 20),
    "config-claims-1.5GB": lambda: _set_central_sizes(_zip([(i.filename, r) for i, r in _members(GOOD)],
                                                            zipfile.ZIP_DEFLATED), "config.json",
                                                       uncompressed=1_500_000_000),
    "tensor-deflated-128MB-of-zeros": lambda: _deflated_zero_tensor(128 << 20),
    "tensor-claims-1.6GB": lambda: _set_central_sizes(_zip([(i.filename, r) for i, r in _members(GOOD)],
                                                            zipfile.ZIP_DEFLATED), "weights.safetensors",
                                                       uncompressed=1_600_000_000),
    "stored-member-claims-more-than-the-file": lambda: _set_central_sizes(GOOD, "weights.safetensors",
                                                                           compressed=4_000_000_000,
                                                                           uncompressed=4_000_000_000),
    "architecture-Dense-30000x30000": _huge_architecture,
    "json-nested-100000-deep": lambda: _deep_json(100_000),
    "json-nested-500-deep": lambda: _deep_json(500),
    "batch_input_shape-negative": _config_edit(lambda c: _layer0(c).update(batch_input_shape=[None, -4])),
    "layers-is-a-number": _config_edit(lambda c: c["model"]["config"].update(layers=5)),
    "layers-hold-strings": _config_edit(lambda c: c["model"]["config"].update(layers=["Dense"])),
    "learning-rate-string": _config_edit(lambda c: c["compile"]["optimizer"]["config"].update(learning_rate="x")),
    "optimizer-iterations-5000-digits": lambda: _optimizer_iterations(5000),
    "config-integer-5000-digits": lambda: _with("config.json", lambda raw: raw.replace(
        b'"format_version": 1', b'"format_version": ' + b"9" * 5000)),
    "layer-dtype-object": _config_edit(lambda c: _layer0(c).update(dtype="object")),
    "layer-dtype-U8": _config_edit(lambda c: _layer0(c).update(dtype="U8")),
    "unknown-loss": _config_edit(lambda c: c["compile"].update(loss="no_such_loss")),
    "unknown-metric": _config_edit(lambda c: c["compile"].update(metrics=["no_such_metric"])),
    "metrics-is-a-dict": _config_edit(lambda c: c["compile"].update(metrics={"a": 1})),
    "compile-is-a-list": _config_edit(lambda c: c.update(compile=[1, 2])),
    "training_state-is-a-string": _config_edit(lambda c: c.update(training_state="x")),
    "rng-state-garbage": _config_edit(lambda c: c.update(training_state={"rng": {"rng": 5, "host_rng": []}})),
    "units-negative": _config_edit(lambda c: _layer0(c).update(units=-3)),
    "units-huge": _config_edit(lambda c: _layer0(c).update(units=10 ** 12)),
    "activation-unknown": _config_edit(lambda c: _layer0(c).update(activation="os.system")),
    "regularizer-unknown-class": _config_edit(lambda c: _layer0(c).update(
        kernel_regularizer={"class_name": "Evil", "config": {}})),
    "initializer-config-not-dict": _config_edit(lambda c: _layer0(c).update(
        kernel_initializer={"class_name": "Zeros", "config": [1]})),
    "weights-member-missing": lambda: _zip([(i.filename, r) for i, r in _members(GOOD)
                                            if i.filename != "weights.safetensors"]),
    "config-not-utf8": lambda: _with("config.json", lambda raw: b"\xff\xfe" + raw),
    "weights-header-claims-4GB": lambda: _with("weights.safetensors",
                                               lambda raw: (4 << 30).to_bytes(8, "little") + raw[8:]),
    "weights-pickle": lambda: _with("weights.safetensors", lambda raw: b"\x80\x04" + raw[2:]),
    "members-swapped": lambda: _zip([({"config.json": "weights.safetensors", "weights.safetensors": "config.json"}
                                      .get(i.filename, i.filename), r) for i, r in _members(GOOD)]),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_file_is_refused_within_the_memory_bound(tmp_path, monkeypatch, name):
    data = HOSTILE[name]()
    path = tmp_path / "hostile.ts"
    path.write_bytes(data)
    del data
    size = path.stat().st_size
    guard = _NoWrites(monkeypatch)
    outcome, peak = _load_measured(path)
    monkeypatch.undo()
    assert isinstance(outcome, ModelFileError), f"{name}: {outcome!r}"
    assert str(path) in str(outcome), str(outcome)
    bound = PEAK_FACTOR * size + PEAK_SLACK
    assert peak <= bound, f"{name}: {peak} bytes allocated for a {size}-byte file (bound {bound})"
    assert not guard.attempts, guard.attempts
    assert os.listdir(tmp_path) == ["hostile.ts"]


def test_the_good_file_loads_and_predicts_the_same(tmp_path):
    path = tmp_path / "good.ts"
    path.write_bytes(GOOD)
    outcome, peak = _load_measured(path)
    np.testing.assert_array_equal(outcome.predict(X_PROBE), GOOD_PREDICTION)
    assert peak <= PEAK_FACTOR * len(GOOD) + PEAK_SLACK


# ---------------------------------------------------------------------- property tests
PROPERTY = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _run_property(tmp_path, monkeypatch, data, same=False):
    path = tmp_path / "m.ts"
    path.write_bytes(data)
    before = sorted(os.listdir(tmp_path))
    with monkeypatch.context() as patch:
        guard = _NoWrites(patch)
        outcome, peak = _load_measured(path)
    assert not guard.attempts, guard.attempts
    assert sorted(os.listdir(tmp_path)) == before
    _check_outcome(data, path, outcome, peak, same)


@PROPERTY
@given(cut=st.integers(min_value=0, max_value=len(GOOD) - 1))
def test_any_truncation_is_refused(tmp_path, monkeypatch, cut):
    _run_property(tmp_path, monkeypatch, GOOD[:cut], same=True)


@PROPERTY
@given(flips=st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.integers(0, 7)), min_size=1, max_size=6))
def test_bit_flips_give_model_file_error_or_a_correct_load(tmp_path, monkeypatch, flips):
    data = bytearray(GOOD)
    for position, bit in flips:
        data[position] ^= 1 << bit
    _run_property(tmp_path, monkeypatch, bytes(data), same=True)  # the zip CRCs catch changed contents


@PROPERTY
@given(order=st.permutations([0, 1, 2]), names=st.permutations(["config.json", "weights.safetensors",
                                                                 "optimizer.safetensors"]),
       drop=st.sampled_from([None, 0, 1, 2]))
def test_member_swaps_and_drops(tmp_path, monkeypatch, order, names, drop):
    members = _members(GOOD)
    swapped = [(names[k], members[i][1]) for k, i in enumerate(order) if i != drop]
    _run_property(tmp_path, monkeypatch, _zip(swapped), same=True)


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-10 ** 6, 10 ** 6)
                           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                        max_size=3),
                           max_leaves=8)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


CONFIG_PATHS = [p for p in _paths(json.loads(dict((i.filename, r) for i, r in _members(GOOD))["config.json"])) if p]


@PROPERTY
@given(where=st.sampled_from(CONFIG_PATHS), value=JSON_VALUES)
def test_config_edits_give_model_file_error_or_a_correct_load(tmp_path, monkeypatch, where, value):
    def edit(config):
        target = config
        for key in where[:-1]:
            target = target[key]
        target[where[-1]] = value
    _run_property(tmp_path, monkeypatch, _config_edit(edit)())


def _header_paths():
    raw = dict((i.filename, r) for i, r in _members(GOOD))["weights.safetensors"]
    n = int.from_bytes(raw[:8], "little")
    return [p for p in _paths(json.loads(raw[8:8 + n])) if len(p) >= 2]


@PROPERTY
@given(member=st.sampled_from(["weights.safetensors", "optimizer.safetensors"]), where=st.sampled_from(_header_paths()),
       value=st.integers(-2, 10 ** 12) | st.sampled_from(["F64", "F16", "I8", "BOOL", "X9", [3], [10 ** 9, 10 ** 9]]),
       header_len=st.one_of(st.none(), st.integers(0, 2 ** 64 - 1)))
def test_safetensors_header_edits_and_length_claims(tmp_path, monkeypatch, member, where, value, header_len):
    def edit(raw):
        n = int.from_bytes(raw[:8], "little")
        header = json.loads(raw[8:8 + n])
        target = header
        try:
            for key in where[:-1]:
                target = target[key]
            target[where[-1]] = value
        except (KeyError, IndexError, TypeError):
            pass  # the optimizer's header has other names: edit nothing there
        new = json.dumps(header).encode()
        length = len(new) if header_len is None else header_len
        return length.to_bytes(8, "little") + new + raw[8 + n:]
    _run_property(tmp_path, monkeypatch, _with(member, edit))


@PROPERTY
@given(member=st.sampled_from(["config.json", "weights.safetensors", "optimizer.safetensors"]),
       compressed=st.one_of(st.none(), st.integers(0, 2 ** 32 - 1)),
       uncompressed=st.one_of(st.none(), st.integers(0, 2 ** 32 - 1)),
       deflate=st.booleans())
def test_zip_size_claims(tmp_path, monkeypatch, member, compressed, uncompressed, deflate):
    base = _zip([(i.filename, r) for i, r in _members(GOOD)], zipfile.ZIP_DEFLATED) if deflate else GOOD
    _run_property(tmp_path, monkeypatch, _set_central_sizes(base, member, compressed, uncompressed), same=True)
