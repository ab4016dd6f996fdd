"""Count how the bad-input table (tests/bad_inputs_cases.py) fares: clear / unclear / silent.

clear: a threestep error whose message names the argument, the value and the fix;
unclear: any other exception (a NumPy/Python error, or a threestep error missing one of
those); silent: no exception at all. Also runs the valid-but-unusual inputs.

    PYTHONPATH=src python benchmarks/bad_inputs_count.py [--list]

Error classes the table names that an older threestep lacks are stubbed, so the same
table can measure an older checkout (PYTHONPATH=<old>/src).
"""
import os
import sys
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import threestep.errors as errors  # noqa: E402

for _name in ("ArgumentError", "SavePathError", "SaveDirectoryMissingError", "SaveTargetExistsError",
              "SaveTargetIsDirectoryError"):
    if not hasattr(errors, _name):
        setattr(errors, _name, type(_name, (errors.ThreestepError,), {}))

from bad_inputs_cases import CASES, FIX, VALID  # noqa: E402


def classify(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            case.call()
        except errors.ThreestepError as exc:
            message = str(exc)
            ok = isinstance(exc, case.error) and all(n in message for n in case.names) and FIX.search(message)
            return ("clear" if ok else "unclear"), f"{type(exc).__name__}: {message[:160]}"
        except Exception as exc:  # noqa: BLE001
            return "unclear", f"{type(exc).__name__}: {str(exc)[:160]}"
    return "silent", "no error"


def main():
    counts = {"clear": 0, "unclear": 0, "silent": 0}
    for case in CASES:
        kind, detail = classify(case)
        counts[kind] += 1
        if "--list" in sys.argv and kind != "clear":
            print(f"{kind:8s} {case.id}: {detail}")
    broken = []
    for name, call in VALID:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                call()
            except Exception as exc:  # noqa: BLE001
                broken.append(f"{name}: {type(exc).__name__}: {str(exc)[:120]}")
    print(f"bad inputs tried {len(CASES)}: clear {counts['clear']}, unclear {counts['unclear']}, "
          f"silent {counts['silent']}; valid-but-unusual inputs {len(VALID)}: {len(VALID) - len(broken)} work")
    for line in broken:
        print("  broken:", line)


if __name__ == "__main__":
    main()
