"""keras.wrappers.scikit_learn: a threestep model as a scikit-learn estimator.

``KerasClassifier(build_fn, **sk_params)`` and ``KerasRegressor(...)`` take a function
that builds and compiles a model, plus any of its arguments and of ``fit`` / ``predict`` /
``evaluate``'s arguments (``epochs``, ``batch_size``, ``verbose``, ...) as parameters, so
scikit-learn's ``clone``, ``cross_val_score``, ``GridSearchCV`` and pipelines can tune and
train them. scikit-learn is not needed to build these wrappers; only the scikit-learn
functions you call need it.

Example:
    >>> def build(hidden=16):
    ...     model = Sequential([Dense(hidden, input_dim=4, activation="relu"),
    ...                         Dense(3, activation="softmax")])
    ...     model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    ...     return model
    >>> clf = KerasClassifier(build_fn=build, hidden=8, epochs=20, verbose=0)
    >>> cross_val_score(clf, x, y, cv=3)
"""
import copy
import inspect
import types

import numpy

from ...errors import ConfigError, NotCompiledError
from ...models import Sequential


_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def _named_arguments(fn):
    """The names ``fn`` takes as named arguments. A model method (``fit``, ``predict``,
    ``evaluate``) may be a Keras-API override that forwards ``*args, **kwargs`` to the method
    it overrides, so for those the named arguments of every definition along the MRO count."""
    names = {n for n, p in inspect.signature(fn).parameters.items() if p.kind not in _VARIADIC}
    method = getattr(fn, "__name__", None)
    if method and getattr(Sequential, method, None) is fn:
        for klass in Sequential.__mro__:
            impl = klass.__dict__.get(method)
            if callable(impl):
                names |= {n for n, p in inspect.signature(impl).parameters.items()
                          if p.kind not in _VARIADIC}
    return names


def _accepted(fn, params):
    """The entries of ``params`` that ``fn`` takes as named arguments."""
    names = _named_arguments(fn)
    return {k: v for k, v in params.items() if k in names}


def _loss_name(model):
    loss = getattr(model, "loss", None)
    if isinstance(loss, str):
        return loss
    name = getattr(loss, "__name__", None) or type(loss).__name__
    return {"CategoricalCrossentropy": "categorical_crossentropy"}.get(name, name)


class BaseWrapper:
    """What both wrappers share: parameters, building the model, fitting it."""

    def __init__(self, build_fn=None, **sk_params):
        self.build_fn = build_fn
        self.sk_params = sk_params
        self.check_params(sk_params)

    def _legal_functions(self):
        functions = [Sequential.fit, Sequential.predict, Sequential.evaluate]
        if self.build_fn is None:
            functions.append(self.__call__)
        elif not isinstance(self.build_fn, (types.FunctionType, types.MethodType)):
            functions.append(self.build_fn.__call__)
        else:
            functions.append(self.build_fn)
        return functions

    def check_params(self, params):
        """Every parameter must be an argument of build_fn, fit, predict or evaluate."""
        functions = self._legal_functions()
        for name in params:
            if name == "nb_epoch":
                continue  # Keras 1 spelling of epochs, mapped by fit
            if not any(name in _named_arguments(fn) for fn in functions):
                raise ConfigError(f"{type(self).__name__}: {name!r} is not an argument of "
                                  "build_fn, fit, predict or evaluate, so it would be ignored. "
                                  "Remove it or add it to build_fn's arguments.")

    def get_params(self, deep=True):
        """The parameters, for scikit-learn's ``clone`` (``build_fn`` and every sk_param)."""
        params = copy.deepcopy(self.sk_params) if deep else dict(self.sk_params)
        params["build_fn"] = self.build_fn
        return params

    def set_params(self, **params):
        """Sets parameters (as ``GridSearchCV`` does); returns self."""
        if "build_fn" in params:
            self.build_fn = params.pop("build_fn")
        self.check_params(params)
        self.sk_params.update(params)
        return self

    def filter_sk_params(self, fn, override=None):
        """The sk_params ``fn`` accepts, updated by ``override``."""
        params = _accepted(fn, self.sk_params)
        params.update(override or {})
        return params

    def _build(self):
        if self.build_fn is None:
            return self.__call__(**self.filter_sk_params(self.__call__))
        if not isinstance(self.build_fn, (types.FunctionType, types.MethodType)):
            return self.build_fn(**self.filter_sk_params(self.build_fn.__call__))
        return self.build_fn(**self.filter_sk_params(self.build_fn))

    def fit(self, x, y, **kwargs):
        """Builds a fresh model and trains it on ``(x, y)``; returns the History."""
        self.model = self._build()
        if getattr(self.model, "optimizer", None) is None:
            raise NotCompiledError(f"{type(self).__name__}: build_fn must return a compiled "
                                   "model (call model.compile(...) before returning it).")
        if _loss_name(self.model) == "categorical_crossentropy" and numpy.ndim(y) == 1:
            from ...utils import to_categorical  # noqa: PLC0415

            y = to_categorical(y)
        fit_args = self.filter_sk_params(Sequential.fit, kwargs)
        if "nb_epoch" in self.sk_params and "epochs" not in fit_args:
            fit_args["epochs"] = self.sk_params["nb_epoch"]
        return self.model.fit(x, y, **fit_args)

    def _check_fitted(self):
        if not hasattr(self, "model"):
            raise NotCompiledError(f"This {type(self).__name__} is not fitted yet; call "
                                   "fit(x, y) first.")


class KerasClassifier(BaseWrapper):
    """A scikit-learn classifier around a model built by ``build_fn`` (Keras 2 semantics).

    Labels may be any sortable values (strings too): they are mapped to ``0..n-1`` in sorted
    order (``classes_``) for training, and ``predict`` maps back. One-hot ``y`` is read as
    ``n`` classes. With ``categorical_crossentropy``, integer labels are one-hot encoded.
    """

    _estimator_type = "classifier"

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags  # noqa: PLC0415

        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags(), input_tags=InputTags())

    def fit(self, x, y, sample_weight=None, **kwargs):
        y = numpy.asarray(y)
        if y.ndim == 2 and y.shape[1] > 1:
            self.classes_ = numpy.arange(y.shape[1])
        elif y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1):
            self.classes_ = numpy.unique(y)
            y = numpy.searchsorted(self.classes_, y)
        else:
            raise ConfigError(f"KerasClassifier: y must be labels (n,), (n, 1) or one-hot "
                              f"(n, classes). Received shape {y.shape}.")
        self.n_classes_ = len(self.classes_)
        if sample_weight is not None:
            kwargs["sample_weight"] = sample_weight
        return super().fit(x, y, **kwargs)

    def predict_proba(self, x, **kwargs):
        """Class probabilities ``(n, classes)``; one sigmoid unit gives ``[1 - p, p]``."""
        self._check_fitted()
        probs = self.model.predict(x, **self.filter_sk_params(Sequential.predict, kwargs))
        if probs.shape[1] == 1:
            probs = numpy.hstack([1 - probs, probs])
        return probs

    def predict(self, x, **kwargs):
        """The predicted labels, in the label values ``fit`` saw."""
        probs = self.predict_proba(x, **kwargs)
        return self.classes_[probs.argmax(axis=-1)]

    def score(self, x, y, **kwargs):
        """The model's accuracy on ``(x, y)`` (the model must be compiled with
        ``metrics=["accuracy"]``)."""
        self._check_fitted()
        y = numpy.asarray(y)
        if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1):
            y = numpy.searchsorted(self.classes_, y)
            if _loss_name(self.model) == "categorical_crossentropy":
                from ...utils import to_categorical  # noqa: PLC0415

                y = to_categorical(y, num_classes=self.n_classes_)
        args = self.filter_sk_params(Sequential.evaluate, kwargs)
        args.update(return_dict=True)
        args.setdefault("verbose", 0)
        values = self.model.evaluate(x, y, **args)
        for name in ("accuracy", "acc"):
            if name in values:
                return float(values[name])
        raise ConfigError("KerasClassifier.score needs an accuracy: compile the model with "
                          f"metrics=['accuracy']. It computes {sorted(values)}.")


class KerasRegressor(BaseWrapper):
    """A scikit-learn regressor around a model built by ``build_fn``; ``score`` is minus the
    loss (scikit-learn maximises scores)."""

    _estimator_type = "regressor"

    def __sklearn_tags__(self):
        from sklearn.utils import InputTags, RegressorTags, Tags, TargetTags  # noqa: PLC0415

        return Tags(estimator_type="regressor", target_tags=TargetTags(required=True),
                    regressor_tags=RegressorTags(), input_tags=InputTags())

    def predict(self, x, **kwargs):
        """The model's predictions, squeezed (one output unit gives shape ``(n,)``)."""
        self._check_fitted()
        return numpy.squeeze(self.model.predict(x, **self.filter_sk_params(Sequential.predict,
                                                                          kwargs)))

    def score(self, x, y, **kwargs):
        """Minus the loss on ``(x, y)``."""
        self._check_fitted()
        args = self.filter_sk_params(Sequential.evaluate, kwargs)
        args.update(return_dict=True)
        args.setdefault("verbose", 0)
        return -float(self.model.evaluate(x, y, **args)["loss"])
