"""The documentation cannot rot: the site builds with --strict, and every Python block on the
lecture and getting-started pages runs (each page in its own process, blocks in order)."""
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RUN_PAGES = sorted(p for p in DOCS.glob("lecture/*.md") if p.name != "index.md") + [DOCS / "getting-started.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def page_code(path):
    """The page's ```python blocks joined in order (blocks tagged ```python title="no-run" are skipped)."""
    return "\n\n".join(BLOCK.findall(path.read_text()))


@pytest.mark.slow
@pytest.mark.parametrize("page", RUN_PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_page_code_runs(page, tmp_path):
    code = page_code(page)
    if not code:
        pytest.fail(f"{page} has no Python block to run; lecture pages show runnable code")
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, f"{page.name} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}"
    # every figure the page shows from ../img/ is one its code wrote
    shown = set(re.findall(r"\]\(\.\./img/([\w\-]+\.png)\)", page.read_text()))
    assert shown <= set(os.listdir(tmp_path)), f"{page.name} shows figures its code does not write: {shown}"


@pytest.mark.slow
def test_site_builds_strict(tmp_path):
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert (tmp_path / "site" / "reference" / "layers" / "index.html").is_file()


def test_figures_shown_by_pages_are_in_the_repository():
    for page in DOCS.rglob("*.md"):
        for name in re.findall(r"\]\((?:\.\./)?img/([\w\-]+\.png)\)", page.read_text()):
            assert (DOCS / "img" / name).is_file(), f"{page.name} shows img/{name}; run python docs/figures.py"
