"""The machinery behind the Keras 2 module paths (``keras.layers.convolutional`` & co.).

Each path module names the Keras classes and functions that live there. A name is looked up
in ``threestep.layers`` when it is first used, so layers added to threestep later show up
under their Keras paths without editing these modules. A Keras name that threestep does not
have raises :class:`~threestep.errors.NotSupportedError` naming the feature and what to use
instead, at ``from ... import`` time.
"""
import importlib
import sys

from ..errors import NotSupportedError

#: Keras spellings that are other names of one class.
ALIASES = {
    "Convolution1D": "Conv1D", "Convolution2D": "Conv2D", "Convolution3D": "Conv3D",
    "SeparableConvolution1D": "SeparableConv1D", "SeparableConvolution2D": "SeparableConv2D",
    "Convolution2DTranspose": "Conv2DTranspose", "Deconvolution2D": "Conv2DTranspose",
    "Deconv2D": "Conv2DTranspose", "Convolution3DTranspose": "Conv3DTranspose",
    "Deconvolution3D": "Conv3DTranspose", "Deconv3D": "Conv3DTranspose",
    "Convolution1DTranspose": "Conv1DTranspose",
    "MaxPool1D": "MaxPooling1D", "MaxPool2D": "MaxPooling2D", "MaxPool3D": "MaxPooling3D",
    "AvgPool1D": "AveragePooling1D", "AvgPool2D": "AveragePooling2D",
    "AvgPool3D": "AveragePooling3D", "GlobalMaxPool1D": "GlobalMaxPooling1D",
    "GlobalMaxPool2D": "GlobalMaxPooling2D", "GlobalMaxPool3D": "GlobalMaxPooling3D",
    "GlobalAvgPool1D": "GlobalAveragePooling1D", "GlobalAvgPool2D": "GlobalAveragePooling2D",
    "GlobalAvgPool3D": "GlobalAveragePooling3D",
}

#: What to use instead of a Keras name threestep lacks (default: a generic hint).
ALTERNATIVES = {
    "CuDNNLSTM": "LSTM (threestep's LSTM runs the fused whole-sequence kernel on every backend)",
    "CuDNNGRU": "GRU(reset_after=True) (threestep's GRU runs the fused kernel on every backend)",
    "Conv3DTranspose": "UpSampling3D followed by Conv3D",
    "Cropping3D": "a Lambda layer slicing the three spatial axes",
    "ZeroPadding3D": "a Lambda layer padding the three spatial axes",
    "UpSampling3D": "a Lambda layer repeating the three spatial axes",
    "SpatialDropout3D": "Dropout with noise_shape=(batch, 1, 1, 1, channels)",
    "InputSpec": "checking shapes in your layer's build()",
    "model_from_yaml": "to_json() / model_from_json() (Keras 2.6 removed YAML for safety)",
    "RemoteMonitor": "a LambdaCallback(on_epoch_end=...) that posts the logs where you want",
    "MaxoutDense": "Dense(k * units) followed by threestep's Maxout layer (Keras 2 removed it)",
    "Highway": "a functional gate: t = Dense(n, activation='sigmoid')(x); "
               "y = t * Dense(n, activation='relu')(x) + (1 - t) * x (Keras 2 removed it)",
}

_GENERIC = ("write it as a custom Layer (subclass threestep.keras.layers.Layer) or a Lambda "
            "layer; `dir(threestep.layers)` lists the layers threestep has")


def lookup(name, where, source="threestep.layers", hint=None):
    """The object called ``name`` (or its alias target) in ``source``, or NotSupportedError."""
    for module in _modules(source):
        for candidate in (name, ALIASES.get(name)):
            if candidate and hasattr(module, candidate):
                return getattr(module, candidate)
    alternative = ALTERNATIVES.get(name, hint or _GENERIC)
    raise NotSupportedError(f"{where}.{name}: threestep does not implement Keras's {name} "
                            f"yet. Instead, use {alternative}.")


def path_module(module_name, names, source="threestep.layers", lenient=True, hint=None):
    """``(__getattr__, __dir__)`` for a Keras path module holding ``names``.

    ``__all__`` (asked for by ``from ... import *``) is answered at that moment with the
    names that exist, so a star import never stops at a missing one.

    ``lenient``: any other name ``source`` has resolves too (Keras 1 code imported layers
    from ``keras.layers.core`` that Keras 2 keeps elsewhere).
    """
    names = tuple(names)
    keras_path = module_name.replace("threestep.", "", 1)

    def __getattr__(name):  # noqa: N807
        if name == "__all__":
            return [n for n in names if _exists(n, source)]
        if name in names:
            return lookup(name, keras_path, source, hint)
        if lenient and not name.startswith("_"):
            for module in _modules(source):
                if hasattr(module, name):
                    return getattr(module, name)
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")

    def __dir__():  # noqa: N807
        own = sys.modules[module_name].__dict__
        return sorted(set(names) | {n for n in own if not n.startswith("_")})

    return __getattr__, __dir__


def _modules(source):
    """The modules named by ``source`` (a dotted name or a tuple of them), imported."""
    return [importlib.import_module(s) for s in ((source,) if isinstance(source, str) else source)]


def _exists(name, source):
    return any(c and hasattr(module, c) for module in _modules(source)
               for c in (name, ALIASES.get(name)))
