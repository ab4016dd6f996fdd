"""The recipe doctor: the lecture's recipe of deep learning as a verdict on a training run.

The recipe asks two questions in order, and the order matters ("do not always blame
overfitting"):

1. **Good results on the training data?** If not, the problem is *not* overfitting, and
   the remedies for overfitting (dropout, less capacity) make it worse. Look at how
   gradient descent went: a diverging or NaN loss means the learning rate is too high; a
   flat loss means it is too low, or the gradients vanish before they reach the first
   layers (deep sigmoid/tanh stacks: first/last-layer gradient-norm ratio far below 1,
   saturated units). Remedies: a new activation function (ReLU, Maxout), an adaptive
   learning rate (Adam, RMSProp), another learning rate.
2. **Good results on the training data but not on validation data?** That is
   overfitting: early stopping (at the best validation epoch), weight decay (L2/L1),
   dropout, more data.
3. Both good: done.

Criteria (all relative, so they hold across tasks; each is a keyword argument):

- reference loss ``L0``: the baseline loss before any update (``fit(..., baseline=True)``),
  else the first epoch's loss;
- *diverging*: any non-finite training loss, an epoch loss above ``diverge_factor`` (1.5x)
  times ``L0``, or the last loss above ``L0`` and 1.5x above the best loss;
- *flat*: the best training loss is above ``flat_fraction`` (0.9) of ``L0``;
- *training good*: with an accuracy metric, the accuracy normalised to chance,
  ``(acc - chance) / (1 - chance)``, is at least ``good_train`` (0.8); chance is
  ``chance=`` or else the baseline accuracy (an untrained net is at chance), else 0;
  without an accuracy, the loss fell below ``1 - good_train`` of ``L0``;
- *validation poor* (overfitting, when training is good): the validation accuracy is more
  than ``max_gap`` (0.1) below the training accuracy, or the last validation loss is
  ``val_rise`` (1.25x) above its minimum (reached before the last epoch);
- *vanishing gradients*: the first/last-layer gradient-norm ratio below ``vanish_ratio``
  (0.01), or sigmoid/tanh units more than ``saturated_pct`` (20 %) saturated;
- *dead ReLUs*: in some layer more than ``dead_pct`` (50 %) of the ReLU units output 0 for
  a whole batch (their gradient is 0 too; often left behind by a too-high learning rate).
"""
import math

VERDICTS = ("training-poor", "overfitting", "good")


class Diagnosis:
    """The doctor's answer: ``verdict``, ``causes`` (tags), ``evidence`` (numbers), ``advice``."""

    def __init__(self, verdict, causes, evidence, advice):
        self.verdict = verdict
        self.causes = list(causes)
        self.evidence = dict(evidence)
        self.advice = list(advice)

    def report(self):
        """The verdict, evidence and advice as plain text."""
        titles = {"training-poor": "Training performance is poor: this is NOT overfitting.",
                  "overfitting": "Training is good but validation is poor: overfitting.",
                  "good": "Training and validation are both good."}
        lines = [f"Verdict: {self.verdict}. {titles[self.verdict]}"]
        if self.causes:
            lines.append("Likely causes: " + ", ".join(self.causes) + ".")
        lines.append("Evidence:")
        for key, value in self.evidence.items():
            shown = f"{value:.4g}" if isinstance(value, float) else value
            lines.append(f"  {key}: {shown}")
        if self.advice:
            lines.append("Advice:")
            lines += [f"  - {line}" for line in self.advice]
        return "\n".join(lines)

    __str__ = report

    def __repr__(self):
        return f"<Diagnosis verdict={self.verdict!r} causes={self.causes}>"


def _column(history, *names):
    for name in names:
        values = history.get(name)
        if values:
            return name, [math.nan if v is None else float(v) for v in values]
    return None, []


def _accuracy_name(history):
    for name in history:
        if not name.startswith("val_") and "/" not in name and "acc" in name:
            return name
    return None


def _layer_series(history, stat):
    """[(layer, last finite value)] for ``stat/<layer>`` columns, in layer order."""
    out = []
    for key, values in history.items():
        if key.startswith(stat + "/"):
            finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
            if finite:
                out.append((key.split("/", 1)[1], finite[-1]))
    return out


def _gradient_evidence(history, grad_stats):
    """First/last grad-norm ratio and the worst saturation %, from History columns or grad_stats."""
    if grad_stats:
        history = {**history, **{k if "/" in k else "grad_norm/" + k: v for k, v in grad_stats.items()}}
    evidence = {}
    norms = _layer_series(history, "grad_norm")
    if len(norms) >= 2:
        (first, g0), (last, g1) = norms[0], norms[-1]
        evidence["grad_norm_first_layer"] = g0
        evidence["grad_norm_last_layer"] = g1
        evidence["grad_ratio_first_to_last"] = g0 / g1 if g1 > 0 else math.inf
        evidence["first_layer"], evidence["last_layer"] = first, last
    saturated = _layer_series(history, "saturated")
    if saturated:
        evidence["max_saturated_pct"] = max(v for _, v in saturated)
    dead = _layer_series(history, "dead_relu")
    if dead:
        evidence["max_dead_relu_pct"] = max(v for _, v in dead)
    return evidence


ADAPTIVE = ("adam", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "adamw")


def diagnose(history, grad_stats=None, baseline=None, chance=None, good_train=0.8, max_gap=0.1, val_rise=1.25,
             flat_fraction=0.9, diverge_factor=1.5, vanish_ratio=0.01, saturated_pct=20.0, dead_pct=50.0,
             optimizer=None):
    """Diagnose a run from its per-epoch history (see the module docstring for criteria).

    Args:
        history: a ``History``, its ``.history`` dict, or a run's ``history.json`` dict.
        grad_stats: optional ``{layer: [grad norm per epoch]}`` (or ``'grad_norm/<layer>'``
            keys) when the history has no GradientMonitor columns.
        baseline: metrics before training (default: ``history.baseline`` if present).
        chance: chance-level accuracy (e.g. 0.1 for 10 balanced classes).
        optimizer: the optimizer's name ('sgd', 'adam', ...) or object, so the advice fits
            what the run used (default: a run's ``run.json`` entry, else unknown).

    Returns:
        a ``Diagnosis`` with ``verdict`` in ``('training-poor', 'overfitting', 'good')``.
    """
    if baseline is None:
        baseline = getattr(history, "baseline", None)
    if hasattr(history, "history"):
        history = history.history
    if isinstance(history, dict) and "history" in history and "epochs" in history:  # a run's history.json
        baseline = baseline if baseline is not None else history.get("baseline")
        optimizer = optimizer if optimizer is not None else history.get("optimizer")
        history = history["history"]
    from ..errors import ConfigError  # noqa: PLC0415

    _, loss = _column(history, "loss")
    if not loss:
        raise ConfigError(f"diagnose: the history has no 'loss' column. Keys: {sorted(history)}. "
                          "Pass model.fit(...)'s History or a run's history.json.")
    baseline = baseline or {}
    evidence, causes, advice = {"epochs": len(loss)}, [], []
    l0 = baseline.get("loss")
    l0 = float(l0) if l0 is not None and math.isfinite(float(l0)) else loss[0]
    finite = [v for v in loss if math.isfinite(v)]
    best = min(finite) if finite else math.nan
    evidence.update({"reference_loss": l0, "final_loss": loss[-1], "best_loss": best})

    acc_name = _accuracy_name(history)
    acc = _column(history, acc_name)[1] if acc_name else []
    val_acc = _column(history, "val_" + acc_name)[1] if acc_name else []
    _, val_loss = _column(history, "val_loss")
    if chance is None:
        chance = baseline.get(acc_name, 0.0) if acc_name else 0.0
        chance = min(float(chance), 0.5) if chance is not None and math.isfinite(float(chance)) else 0.0
    if acc:
        evidence[f"final_{acc_name}"] = acc[-1]
        evidence["chance_accuracy"] = chance

    # -------------------------------------------------------------- 1. training performance
    diverging = any(not math.isfinite(v) for v in loss) or max(loss) > diverge_factor * l0 or (
        loss[-1] > l0 and loss[-1] > diverge_factor * best)
    flat = math.isfinite(best) and best > flat_fraction * l0
    if acc:
        score = (max(acc[-1], 0.0) - chance) / (1.0 - chance) if math.isfinite(acc[-1]) else 0.0
        evidence["train_score_vs_chance"] = score
        train_good = score >= good_train
    else:
        train_good = math.isfinite(loss[-1]) and loss[-1] <= (1.0 - good_train) * l0
    grads = _gradient_evidence(history, grad_stats)
    evidence.update(grads)

    if diverging or not train_good:
        verdict = "training-poor"
        if diverging:
            causes.append("learning rate too high (loss diverging)")
            advice.append("Lower the learning rate (try 10x smaller), or use Adam/RMSProp with their default "
                          "rates; normalise the inputs; add gradient clipping (clipnorm=1.0).")
        dead = grads.get("max_dead_relu_pct", 0.0) > dead_pct and not diverging
        # after a divergence, saturated units and dead ReLUs are symptoms of the huge weights
        vanishing = not dead and not diverging and (grads.get("grad_ratio_first_to_last", 1.0) < vanish_ratio
                                  or grads.get("max_saturated_pct", 0.0) > saturated_pct)
        if dead:
            causes.append("dead ReLU units")
            advice.append(f"Up to {grads['max_dead_relu_pct']:.0f}% of a layer's ReLU units output 0 for every "
                          "sample, so they pass no gradient back: lower the learning rate, use He initialisation, "
                          "or LeakyReLU/Maxout.")
        if vanishing:
            causes.append("vanishing gradients")
            advice.append(
                f"The first layer's gradient norm is {grads.get('grad_ratio_first_to_last', math.nan):.2g}x the last "
                "layer's: layers near the input barely learn (sigmoid/tanh derivatives shrink the gradient layer "
                "by layer). Use ReLU or Maxout activations, fewer layers, or batch normalisation.")
        if flat and not diverging and not vanishing and not dead:
            causes.append("learning rate too low or optimizer stuck (loss flat)")
        if not diverging:
            used = optimizer if optimizer is None or isinstance(optimizer, str) else type(optimizer).__name__
            used = used.lower() if used else None
            if used in ADAPTIVE:
                advice.append(f"The run already uses an adaptive learning rate ({used}): try its learning rate "
                              "3-10x larger or smaller, or a warm-up; check the inputs are normalised.")
            else:
                advice.append("Use an adaptive learning rate: Adam or RMSProp (optimizer='adam').")
            if flat:
                advice.append("The loss barely moved from its starting value: raise the learning rate, "
                              "or check the data/labels with `threestep doctor RUN --overfit-one-batch`.")
            else:
                advice.append("The loss is still falling: train for more epochs, or use a larger model.")
        advice.append("Do NOT add dropout or regularisation now: they fight overfitting and make training "
                      "performance worse.")
        return Diagnosis(verdict, causes, evidence, advice)

    # -------------------------------------------------------------- 2. validation performance
    if not val_loss and not val_acc:
        advice.append("No validation data in this run, so overfitting cannot be checked: use "
                      "validation_split=0.1 or validation_data=.")
        return Diagnosis("good", ["no validation data"], evidence, advice)
    overfit = False
    if val_acc and acc and math.isfinite(val_acc[-1]):
        evidence[f"final_val_{acc_name}"] = val_acc[-1]
        evidence["generalisation_gap"] = acc[-1] - val_acc[-1]
        overfit = acc[-1] - val_acc[-1] > max_gap
    if val_loss:
        finite_val = [(v, i) for i, v in enumerate(val_loss) if math.isfinite(v)]
        if finite_val:
            best_val, best_i = min(finite_val)
            evidence["best_val_loss"], evidence["best_epoch"] = best_val, best_i + 1
            evidence["final_val_loss"] = val_loss[-1]
            rising = best_i < len(val_loss) - 1 and val_loss[-1] > val_rise * best_val
            overfit = overfit or rising
    if overfit:
        best_epoch = evidence.get("best_epoch")
        if best_epoch is not None and best_epoch < len(val_loss):
            advice.append(f"Early stopping: the validation loss was lowest at epoch {best_epoch}; use "
                          "EarlyStopping(monitor='val_loss', patience=...) with ModelCheckpoint(save_best_only=True).")
        elif best_epoch is not None:
            advice.append(f"Early stopping will not help yet: the validation loss is still lowest at the last "
                          f"epoch ({best_epoch}), while validation accuracy lags training accuracy.")
        advice += ["Weight decay: kernel_regularizer=l2(1e-4) (or l1).",
                   "Dropout between the dense layers (it helps here because training performance is good).",
                   "More training data (or data augmentation), or a smaller network."]
        return Diagnosis("overfitting", ["validation much worse than training"], evidence, advice)
    advice.append("Nothing to fix by the recipe. To improve further, try a larger model and regularise it.")
    return Diagnosis("good", [], evidence, advice)


class OverfitResult:
    """Whether a model fitted one batch: ``ok``, ``steps``, ``initial_loss``, ``final_loss``."""

    def __init__(self, ok, steps, initial_loss, final_loss, accuracy, target):
        self.ok, self.steps, self.target = ok, steps, target
        self.initial_loss, self.final_loss, self.accuracy = initial_loss, final_loss, accuracy

    def report(self):
        head = (f"Overfit one batch: loss {self.initial_loss:.4g} -> {self.final_loss:.4g} in {self.steps} steps "
                f"(target < {self.target:.3g})" + ("" if self.accuracy is None else f", accuracy {self.accuracy:.3f}"))
        if self.ok:
            return head + ". PASSED: the model and the training code can learn."
        return head + (". FAILED: a network should memorise one small batch. Suspect a bug (labels not matching "
                       "inputs, wrong loss/activation pair, unnormalised inputs, a learning rate far too low or "
                       "high) or a model too weak; fix this before any talk of overfitting.")

    def __repr__(self):
        return f"<OverfitResult ok={self.ok} steps={self.steps} final_loss={self.final_loss:.4g}>"


def overfit_one_batch(model, x, y, max_steps=300, target_fraction=0.05):
    """Train on one batch until the loss is near zero: the recipe's first sanity check.

    "Near zero" means below ``target_fraction`` of the starting loss (and, with an accuracy
    metric, 100 % accuracy on the batch). Returns an ``OverfitResult``; ``model`` is trained.
    """
    first = model.test_on_batch(x, y)
    first = first[0] if isinstance(first, list) else first
    target = target_fraction * first
    loss, accuracy, step = first, None, 0
    for step in range(1, max_steps + 1):
        values = model.train_on_batch(x, y)
        if isinstance(values, list):
            loss, accuracy = values[0], values[1]
        else:
            loss = values
        if not math.isfinite(loss):
            break
        if step % 10 == 0 or step == max_steps:
            now = model.test_on_batch(x, y)
            loss, accuracy = (now[0], now[1]) if isinstance(now, list) else (now, None)
            if loss < target and (accuracy is None or accuracy >= 1.0):
                return OverfitResult(True, step, first, loss, accuracy, target)
    return OverfitResult(False, step, first, loss, accuracy, target)
