"""Regenerate the figures the lecture pages show: run each page's code with docs/img as the
working directory (the same code the test suite runs).

    python docs/figures.py
"""
import os
import pathlib
import re
import shutil
import subprocess
import sys

DOCS = pathlib.Path(__file__).resolve().parent
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def main():
    img = DOCS / "img"
    img.mkdir(exist_ok=True)
    env = dict(os.environ, MPLBACKEND="Agg")
    for page in sorted(DOCS.glob("lecture/*.md")) + [DOCS / "getting-started.md"]:
        code = "\n\n".join(BLOCK.findall(page.read_text()))
        shown = set(re.findall(r"\]\(\.\./img/([\w\-]+\.png)\)", page.read_text()))
        if not code or not shown:
            continue
        print(f"{page.relative_to(DOCS)}: {', '.join(sorted(shown))}")
        subprocess.run([sys.executable, "-c", code], cwd=img, env=env, check=True, stdout=subprocess.DEVNULL)
    pages = "".join(p.read_text() for p in DOCS.rglob("*.md"))
    for path in img.iterdir():  # keep only the figures a page shows (runs also leave reports, models)
        if path.is_dir():
            shutil.rmtree(path)
        elif f"img/{path.name})" not in pages:
            path.unlink()


if __name__ == "__main__":
    main()
