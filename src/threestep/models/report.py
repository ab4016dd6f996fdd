"""``model.evaluate_report``: per-class precision, recall and F1, and a confusion matrix.

Accuracy alone hides which classes a classifier confuses. For each class c:
precision = TP / (TP + FP) (of the samples called c, how many are c), recall =
TP / (TP + FN) (of the samples that are c, how many were found), F1 their harmonic mean,
support the number of true samples of c. The printed table and the returned dict follow
scikit-learn's ``classification_report`` (a 0/0 ratio counts as 0), over every class the
model outputs, so a class never predicted still gets its row.
"""
import os

from .. import backend
from ..errors import ConfigError, DataError


def _labels(y, n_out, caller, what):
    import numpy  # noqa: PLC0415  (labels are host-side NumPy, like predict's output)

    y = numpy.asarray(backend.to_numpy(y) if not isinstance(y, numpy.ndarray) else y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    y = y.reshape(len(y), -1)
    if y.shape[1] != 1:
        raise DataError(f"{caller}: {what} must be integer labels (n,) or one-hot (n, classes); received shape "
                        f"{y.shape}.")
    y = y[:, 0]
    if n_out == 1 and y.dtype.kind == "f":
        return (y > 0.5).astype(int)
    if y.dtype.kind == "f" and not numpy.all(y == numpy.round(y)):
        raise DataError(f"{caller}: {what} holds non-integer values (e.g. {y[y != numpy.round(y)][0]}); give class "
                        "numbers or one-hot rows.")
    return y.astype(int)


def confusion_matrix(y_true, y_pred, n_classes):
    """Counts (n_classes, n_classes): row = true class, column = predicted class."""
    import numpy  # noqa: PLC0415

    m = numpy.zeros((n_classes, n_classes), dtype=numpy.int64)
    numpy.add.at(m, (numpy.asarray(y_true), numpy.asarray(y_pred)), 1)
    return m


def _ratio(a, b):
    import numpy  # noqa: PLC0415

    return numpy.divide(a, b, out=numpy.zeros(len(a)), where=b > 0)


def classification_report(y_true, y_pred, n_classes, class_names=None, digits=2):
    """(text, dict) of per-class precision / recall / F1 / support with macro and weighted averages."""
    import numpy  # noqa: PLC0415

    names = [str(c) for c in (class_names if class_names is not None else range(n_classes))]
    if len(names) != n_classes:
        raise ConfigError(f"evaluate_report: class_names has {len(names)} names but the model has {n_classes} "
                          f"classes. Received: class_names={list(class_names)!r}.")
    cm = confusion_matrix(y_true, y_pred, n_classes)
    tp = numpy.diag(cm).astype(float)
    support = cm.sum(axis=1)
    precision = _ratio(tp, cm.sum(axis=0).astype(float))
    recall = _ratio(tp, support.astype(float))
    f1 = _ratio(2 * precision * recall, precision + recall)
    total = int(support.sum())
    report = {name: {"precision": float(p), "recall": float(r), "f1-score": float(f), "support": int(s)}
              for name, p, r, f, s in zip(names, precision, recall, f1, support)}
    report["accuracy"] = float(tp.sum() / total) if total else 0.0
    weights = support / total if total else numpy.zeros(n_classes)
    report["macro avg"] = {"precision": float(precision.mean()), "recall": float(recall.mean()),
                           "f1-score": float(f1.mean()), "support": total}
    report["weighted avg"] = {"precision": float(precision @ weights), "recall": float(recall @ weights),
                              "f1-score": float(f1 @ weights), "support": total}
    width = max(max(len(n) for n in names), len("weighted avg"), digits)
    headers = ["precision", "recall", "f1-score", "support"]
    row = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    text = ("{:>{width}s} " + " {:>9}" * 4).format("", *headers, width=width) + "\n\n"
    for name in names:
        r = report[name]
        text += row.format(name, r["precision"], r["recall"], r["f1-score"], r["support"], width=width, digits=digits)
    text += "\n"
    text += ("{:>{width}s} " + " {:>9.{digits}}" * 2 + " {:>9.{digits}f}" + " {:>9}\n").format(
        "accuracy", "", "", report["accuracy"], total, width=width, digits=digits)
    for key in ("macro avg", "weighted avg"):
        r = report[key]
        text += row.format(key, r["precision"], r["recall"], r["f1-score"], r["support"], width=width, digits=digits)
    return text, report


def plot_confusion_matrix(cm, path, class_names=None, title="Confusion matrix"):
    """Write a PNG of the confusion matrix (counts in each cell, true classes as rows)."""
    from ..utils.plotting import subplots  # noqa: PLC0415  (matplotlib is optional)

    n = len(cm)
    names = [str(c) for c in (class_names if class_names is not None else range(n))]
    fig, ax = subplots(figsize=(1.0 + 0.55 * n, 0.8 + 0.5 * n))
    image = ax.imshow(cm, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(n), names, rotation=45 if max(map(len, names)) > 2 else 0, ha="right" if
                  max(map(len, names)) > 2 else "center")
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    high = cm.max() if cm.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=8,
                    color="white" if high and cm[i, j] > high / 2 else "black")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


def evaluate_report(model, x, y, path=None, class_names=None, batch_size=None, verbose=1, digits=2):
    """Predict ``x``, compare with ``y``; print and return the per-class report.

    Returns the dict (scikit-learn's ``output_dict`` layout); writes the confusion-matrix
    PNG to ``path`` when given. A single sigmoid output is read as two classes (p > 0.5).
    """
    caller = "evaluate_report"
    preds = model.predict(x, batch_size=batch_size)
    if isinstance(preds, list):
        raise ConfigError(f"{caller}: model {model.name!r} has {len(preds)} outputs; evaluate_report needs one "
                          "classification output.")
    n_out = preds.shape[-1] if preds.ndim > 1 else 1
    if preds.ndim != 2:
        raise ConfigError(f"{caller}: the model's output has shape {preds.shape}; evaluate_report needs "
                          "(samples, classes) class scores.")
    if len(y) != len(preds):
        raise DataError(f"{caller}: x has {len(preds)} samples but y has {len(y)}.")
    y_true = _labels(y, n_out, caller, "y")
    y_pred = (preds[:, 0] > 0.5).astype(int) if n_out == 1 else preds.argmax(axis=1)
    n_classes = max(2 if n_out == 1 else n_out, int(y_true.max()) + 1 if len(y_true) else 0)
    if y_true.min(initial=0) < 0:
        raise DataError(f"{caller}: y holds negative class numbers (min {y_true.min()}).")
    if n_out > 1 and n_classes > n_out:
        raise DataError(f"{caller}: y holds class {int(y_true.max())} but the model outputs only {n_out} classes.")
    text, report = classification_report(y_true, y_pred, n_classes, class_names, digits)
    if verbose:
        print(text, end="")
    if path is not None:
        plot_confusion_matrix(confusion_matrix(y_true, y_pred, n_classes), path, class_names)
    return report
