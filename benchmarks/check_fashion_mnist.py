"""Fashion-MNIST fingerprints: loads the real files and compares them with REFERENCE.md.

Uses ``threestep.datasets.fashion_mnist.load_data(download=False)`` (so every file has
already passed its decompressed-MD5 check) and prints, as JSON, where each file was found,
the shapes, dtypes, first labels, class counts, pixel sum and [0, 1] mean/std, the load
time, and whether each fingerprint matches the published value. Exits 1 on a mismatch and
2 when no local copy exists (install the Debian package ``dataset-fashion-mnist``).

    python -m benchmarks.check_fashion_mnist [--path DIR]
"""
import argparse
import sys
import time

import numpy as np

from .common import emit, machine

EXPECTED = {
    "x_train_shape": [60000, 28, 28], "x_test_shape": [10000, 28, 28],
    "y_train_first10": [9, 0, 0, 3, 0, 2, 7, 2, 5, 5],
    "y_test_first10": [9, 2, 1, 1, 6, 1, 4, 6, 5, 7],
    "train_class_counts": [6000] * 10, "test_class_counts": [1000] * 10,
    "x_train_pixel_sum": 3_431_114_169,
    "x_train_mean": 0.2860, "x_train_std": 0.3530, "x_test_mean": 0.2868, "x_test_std": 0.3524,
}


def fingerprints(path=None):
    from threestep.datasets import _files, fashion_mnist

    source = fashion_mnist._source()
    dirs = [d for _, d in _files.search_dirs(source, path)]
    start = time.perf_counter()
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data(path=path, download=False)
    seconds = time.perf_counter() - start
    found = {name: _files.find_file(dirs, name) for name in source.files}
    got = {
        "x_train_shape": list(x_train.shape), "x_test_shape": list(x_test.shape),
        "dtypes": sorted({str(a.dtype) for a in (x_train, y_train, x_test, y_test)}),
        "y_train_first10": y_train[:10].tolist(), "y_test_first10": y_test[:10].tolist(),
        "train_class_counts": np.bincount(y_train, minlength=10).tolist(),
        "test_class_counts": np.bincount(y_test, minlength=10).tolist(),
        "x_train_pixel_sum": int(x_train.sum(dtype=np.int64)),
        "x_train_mean": round(float((x_train / 255.0).mean()), 4),
        "x_train_std": round(float((x_train / 255.0).std()), 4),
        "x_test_mean": round(float((x_test / 255.0).mean()), 4),
        "x_test_std": round(float((x_test / 255.0).std()), 4),
    }
    matches = {key: got[key] == value for key, value in EXPECTED.items()}
    matches["dtypes"] = got["dtypes"] == ["uint8"]
    return {"files": found, "load_seconds": round(seconds, 3), "fingerprints": got,
            "matches": matches, "all_match": all(matches.values())}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default=None, help="a directory holding the four IDX files")
    args = parser.parse_args(argv)
    from threestep.errors import DatasetError

    try:
        result = fingerprints(args.path)
    except DatasetError as exc:
        emit({"error": str(exc), "machine": machine()})
        return 2
    result["machine"] = machine()
    emit(result)
    return 0 if result["all_match"] else 1


if __name__ == "__main__":
    sys.exit(main())
