"""optimizers.packing: on the GPU, fit updates every parameter in one kernel.

Runs on the strict CuPy stand-in (tests/fakecupy), whose numbers are NumPy's: a model trained on
the fake device, packed, must end with the weights the same run gets on NumPy (per-parameter
updates there), for every optimizer and the clipping, regularizer and constraint options; the
update must be one kernel; anything that rebinds parameters or slots must make it pack again.
"""
import numpy as np
import pytest

from threestep import backend, optimizers
from threestep import layers as L
from threestep.models import Sequential
from threestep.regularizers import l2

OPTIMIZERS = {
    "sgd": lambda: optimizers.SGD(0.1),
    "momentum": lambda: optimizers.SGD(0.1, momentum=0.9),
    "nesterov": lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
    "adam": lambda: optimizers.Adam(0.01),
    "amsgrad": lambda: optimizers.Adam(0.01, amsgrad=True),
    "adamw": lambda: optimizers.AdamW(0.01),
    "adamax": lambda: optimizers.Adamax(),
    "nadam": lambda: optimizers.Nadam(),
    "rmsprop-centered-momentum": lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "adagrad": lambda: optimizers.Adagrad(0.1),
    "adadelta": lambda: optimizers.Adadelta(),
    "sgd-clipvalue": lambda: optimizers.SGD(0.1, clipvalue=0.01),
    "adam-global-clipnorm": lambda: optimizers.Adam(0.01, global_clipnorm=0.05),
    "sgd-decay-schedule": lambda: optimizers.SGD(optimizers.schedules.ExponentialDecay(0.1, 2, 0.5), decay=0.01),
}


def _data(shape=(6,), n=64, seed=1):
    r = np.random.default_rng(seed)
    return r.standard_normal((n,) + shape).astype(np.float32), r.integers(0, 3, n)


def _mlp(kernel_regularizer=None, kernel_constraint=None):
    return Sequential([L.Dense(8, activation="relu", input_dim=6, kernel_regularizer=kernel_regularizer),
                       L.Dense(8, activation="tanh", kernel_constraint=kernel_constraint),
                       L.Dense(3, activation="softmax")])


def _cnn():
    return Sequential([L.Conv2D(4, 3, activation="relu", input_shape=(6, 6, 2)), L.MaxPooling2D(2),
                       L.Conv2D(3, 2, input_shape=(2, 2, 4)), L.Flatten(), L.Dense(3, activation="softmax")])


def _fit(name, make_model, make_optimizer, data, epochs=2, then=None):
    """The weights after fit on backend ``name`` (and ``then(model)`` plus one more epoch), and the model."""
    backend.set_backend(name)
    backend.set_seed(0)
    model = make_model()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=make_optimizer())
    x, y = data
    model.fit(x, y, batch_size=16, epochs=epochs, verbose=0)
    if then is not None:
        then(model)
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    return model.get_weights(), model


def _compare(make_model, make_optimizer, data=None, then=None, rtol=1e-5):
    data = data or _data()
    previous = backend.backend_name()
    try:
        want, _ = _fit("numpy", make_model, make_optimizer, data, then=then)
        got, model = _fit("cupy", make_model, make_optimizer, data, then=then)
    finally:
        backend.set_backend(previous)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=1e-6)
    return model


@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_a_packed_fit_ends_with_numpys_weights(fake_cupy, opt):
    model = _compare(_mlp, OPTIMIZERS[opt])
    packing = model.optimizer._packing
    assert packing is not None and packing.intact(model.trainable_weights, model.optimizer.slots)
    # every parameter is a view of the one flat buffer, every slot of its own
    packing.flat[...] = 7
    assert all((backend.to_numpy(p.data) == 7).all() for p in model.trainable_weights)
    for name, arrays in model.optimizer.slots.items():
        packing.slot_flats[name][...] = 3
        assert all((backend.to_numpy(a) == 3).all() for a in arrays)


@pytest.mark.parametrize("layer", ["LSTM", "GRU", "SimpleRNN"])
def test_a_recurrent_model_packs_its_transposed_recurrent_kernel_too(fake_cupy, layer):
    """A recurrent kernel kept in Fortran order (weights are made in C order; one set from
    elsewhere may not be) is packed in Fortran order (its gradient and slots alike); the
    recurrent op's gradients come as ``.grad`` and are copied in."""
    def make():
        model = Sequential([getattr(L, layer)(6, input_shape=(5, 3)), L.Dense(3, activation="softmax")])
        kernel = model.layers[0].recurrent_kernel
        kernel.data = backend.get_array_module(kernel.data).asfortranarray(kernel.data)
        return model

    model = _compare(make, OPTIMIZERS["adam"], data=_data((5, 3)))
    packing = model.optimizer._packing
    assert packing is not None and packing.intact(model.trainable_weights, model.optimizer.slots)
    layouts = [p.data.flags.c_contiguous for p in model.trainable_weights]
    assert layouts == [g.flags.c_contiguous for g in packing.grads]
    assert layouts == [True, False, True, True, True]  # the recurrent kernel transposed


def test_the_cnn_writes_its_gradients_into_the_buffer(fake_cupy):
    model = _compare(_cnn, OPTIMIZERS["adam"], data=_data((6, 6, 2)))
    assert model.optimizer._packing is not None


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_the_update_is_one_kernel_and_backward_writes_every_dense_gradient_in_place(fake_cupy, opt):
    """A packed step launches the kernels of forward and backward plus ONE update kernel: n - 1
    fewer than backward followed by a per-parameter update (``apply_gradients``), so backward
    wrote every Dense gradient into the buffer (a copy would be a launch more) and the update
    ran once on the flat arrays. Afterwards ``.grad`` reads each parameter's gradient."""
    from threestep import losses

    previous = backend.backend_name()
    try:
        backend.set_backend("cupy")
        backend.set_seed(0)
        model = _mlp()
        optimizer = OPTIMIZERS[opt]()
        x, y = _data()
        xb, yb = backend.on_device(x[:16]), backend.on_device(y[:16])
        loss_fn = losses.get("sparse_categorical_crossentropy")
        params = model.trainable_weights

        def launches(step):
            loss = loss_fn(yb, model(xb, training=True))
            fake_cupy._fake_reset_counts()
            step(loss)
            return fake_cupy._fake_reset_counts()["kernels"]

        optimizer.minimize(loss_fn(yb, model(xb, training=True)), params)  # the first step packs
        packed = launches(lambda loss: optimizer.minimize(loss, params))
        grads = [backend.to_numpy(p.grad).copy() for p in params]

        def per_parameter(loss):
            for p in params:
                p.grad = None
            loss.backward()
            optimizer.apply_gradients(params)
        plain = launches(per_parameter)
    finally:
        backend.set_backend(previous)
    assert packed == plain - len(params) + 1, (packed, plain)
    assert all(np.abs(g).sum() > 0 for g in grads)


def test_gradients_backward_cannot_write_are_copied_in(fake_cupy):
    """An L2-regularised kernel is used twice (layer and penalty), so its gradient comes as
    ``.grad`` and is copied into the buffer; a constrained kernel is clipped after the update."""
    _compare(lambda: _mlp(kernel_regularizer=l2(0.01), kernel_constraint=lambda w: w.clip(-0.2, 0.2)), OPTIMIZERS["momentum"])


def test_per_gradient_clipnorm_steps_parameter_by_parameter(fake_cupy):
    model = _compare(_mlp, lambda: optimizers.Adam(0.01, clipnorm=0.05))
    assert model.optimizer._packing is None


def _rebind_weights(model):
    model.set_weights([w * 0.5 for w in model.get_weights()])


def _restore_state(model):
    model.optimizer.set_state(model.optimizer.get_state())


def _new_arrays(model):
    for p in model.trainable_weights:
        p.data = p.data.copy()  # a user's (or a loader's) assignment: the packing must notice


@pytest.mark.parametrize("then", [_rebind_weights, _restore_state, _new_arrays],
                         ids=["set_weights", "optimizer-set_state", "assigned-arrays"])
def test_whatever_rebinds_parameters_or_slots_packs_again(fake_cupy, then):
    model = _compare(_mlp, OPTIMIZERS["adam"], then=then)
    assert model.optimizer._packing.intact(model.trainable_weights, model.optimizer.slots)


def test_a_model_moved_to_the_cpu_and_back_trains_on(fake_cupy):
    data = _data()
    previous = backend.backend_name()
    try:
        want, _ = _fit("numpy", _mlp, OPTIMIZERS["adam"], data, epochs=3)

        def away_and_back(model):
            model.to("cpu")
            model.to("gpu")

        got, model = _fit("cupy", _mlp, OPTIMIZERS["adam"], data, epochs=2, then=away_and_back)
        assert backend.backend_name() == "cupy"
        assert model.optimizer._packing.intact(model.trainable_weights, model.optimizer.slots)
    finally:
        backend.set_backend(previous)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_optimizer_state_reads_per_parameter_after_packing(fake_cupy):
    previous = backend.backend_name()
    try:
        _, model = _fit("cupy", _mlp, OPTIMIZERS["adam"], _data())
        state = model.optimizer.get_state()
    finally:
        backend.set_backend(previous)
    shapes = [tuple(p.shape) for p in model.trainable_weights]
    assert [a.shape for a in state["slots"]["m"]] == shapes
    assert all(type(a) is np.ndarray for a in state["slots"]["v"])


def test_apply_gradients_outside_fit_never_packs(fake_cupy):
    """Without a training loop that writes into the buffer, packing would only cost copies."""
    from threestep.autograd import Tensor

    previous = backend.backend_name()
    try:
        backend.set_backend("cupy")
        params = [Tensor(backend.on_device(np.ones((3, 2), np.float32)), requires_grad=True) for _ in range(4)]
        optimizer = optimizers.Adam()
        for _ in range(3):
            for p in params:
                p.grad = backend.on_device(np.full((3, 2), 0.5, np.float32))
            optimizer.apply_gradients(params)
    finally:
        backend.set_backend(previous)
    assert optimizer._packing is None


def test_numpy_never_packs():
    previous = backend.backend_name()
    try:
        _, model = _fit("numpy", _mlp, OPTIMIZERS["adam"], _data())
    finally:
        backend.set_backend(previous)
    assert model.optimizer._packing is None


def test_training_on_after_a_move_to_the_cpu_lets_the_device_buffers_go(fake_cupy):
    previous = backend.backend_name()
    try:
        _, model = _fit("cupy", _mlp, OPTIMIZERS["adam"], _data())
        assert model.optimizer._packing is not None
        model.to("cpu")
        model.fit(*_data(), batch_size=16, epochs=1, verbose=0)
        assert model.optimizer._packing is None
        assert all(type(p.data) is np.ndarray for p in model.trainable_weights)
    finally:
        backend.set_backend(previous)
