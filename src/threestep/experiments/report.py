"""Writing an experiment's ``report.md``, ``results.json`` and PNG plots.

Plots are drawn on matplotlib's ``Agg`` canvas without pyplot (``utils.plotting.subplots``),
imported only when an experiment draws, so ``import threestep`` never needs matplotlib.
"""
import json
import math
import os


def save_figure(fig, out_dir, filename, title=None):
    """Save ``fig`` as ``out_dir/filename`` under a title; returns the file name.

    A PNG opened on its own must say what it shows, so every figure gets a title: ``title``,
    or the file name in words when none is given.
    """
    if title is None:
        title = os.path.splitext(filename)[0].replace("_", " ").capitalize()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, filename), dpi=90)
    return filename


def fmt(value):
    """A table cell: floats with 4 significant digits, everything else as text."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.3e}"
        return f"{value:.4g}"
    return str(value)


def markdown_table(rows):
    """Rows (dicts with the same keys) as a markdown table."""
    if not rows:
        return "(no rows)\n"
    def cell(text):
        return str(text).replace("|", "\\|")  # a literal | would split the cell

    columns = list(rows[0])
    lines = ["| " + " | ".join(cell(c) for c in columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(fmt(row.get(c, ""))) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def write_report(exp, result, out_dir, quick, seed):
    """Write ``report.md`` and ``results.json``; returns their paths."""
    from .base import verdict_text  # noqa: PLC0415

    verdict = verdict_text(result, quick)
    parts = [f"# Experiment `{exp.name}`\n",
             f"**Claim (from the lecture).** {exp.claim}\n",
             "## Setup\n",
             f"{result.setup}\n",
             f"**Data:** {result.data}. **Mode:** {'quick' if quick else 'full'} run, seed {seed}, "
             f"{result.numbers.get('seconds', 0):.1f} s.\n",
             "## Measured\n",
             markdown_table(result.table)]
    for title, rows in result.tables.items():
        parts += [f"### {title}\n", markdown_table(rows)]
    if result.plots:
        parts.append("## Plots\n")
        parts += [f"![{caption}]({filename})\n\n*{caption}*\n" for filename, caption in result.plots]
    parts += ["## Verdict\n", f"**Verdict: {verdict}.** {result.because}\n"]
    report = os.path.join(out_dir, "report.md")
    with open(report, "w", encoding="utf-8") as f:
        f.write("\n".join(parts))
    payload = {"experiment": exp.name, "claim": exp.claim, "quick": bool(quick), "seed": int(seed),
               "data": result.data, "setup": result.setup, "table": result.table, "tables": result.tables,
               "held": bool(result.held), "verdict": verdict, "because": result.because,
               "plots": [p for p, _ in result.plots], "numbers": result.numbers}
    results = os.path.join(out_dir, "results.json")
    with open(results, "w", encoding="utf-8") as f:
        json.dump(_jsonable(payload), f, indent=2)
    return {"report": report, "results": results}
