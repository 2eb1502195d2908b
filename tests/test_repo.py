"""The README's promises: the two set-up commands, and CI running exactly the test one."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def block_after(marker: str) -> str:
    match = re.search(rf"<!-- {marker} -->\n```bash\n(.*?)\n```", README, re.S)
    assert match, f"README has no command block after <!-- {marker} -->"
    return match.group(1)


def test_readme_has_the_two_setup_commands():
    demo, tests = block_after("setup:demo"), block_after("setup:tests")
    for command in (demo, tests):
        assert "\n" not in command, "each set-up step is one command"
        assert "-c constraints.txt" in command, "CPU machines must get the pinned torch"
    assert demo.endswith("python -m autograde demo")
    assert tests.endswith("python -m pytest -n auto"), "the suite runs on every core"


def test_ci_runs_the_readme_test_command():
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    awk = re.search(r"command=\$\((awk .*)\)\n", script).group(1)
    extracted = subprocess.run(["bash", "-c", awk], cwd=REPO, capture_output=True, text=True)
    assert extracted.stdout.strip() == block_after("setup:tests")


def test_torch_is_pinned_for_cpu_but_not_in_the_project():
    assert (REPO / "constraints.txt").read_text().split() == ["torch==2.13.0"]
    pyproject = (REPO / "pyproject.toml").read_text()
    assert re.search(r'"torch[^"]*"', pyproject).group(0) == '"torch>=2.2"'


def test_colab_badges_and_setup_cells_name_the_student_repository():
    """One setting (pyproject's [tool.workbook] student-repository) names where students get
    the workbook; `release` stamps it into the setup cells; the README's badges point there."""
    import json

    from autograde.course import Course
    from autograde.publish import colab_url

    repository = Course(REPO).student_repository
    for notebook in sorted((REPO / "notebooks").glob("*/*.ipynb")):
        path = f"notebooks/{notebook.parent.name}/{notebook.name}"
        assert colab_url(repository, path) in README, f"README has no Colab badge for {path}"
        cells = json.loads(notebook.read_text())["cells"]
        setup = "".join(next(c for c in cells if c["cell_type"] == "code")["source"])
        assert f'REPOSITORY = "{repository}"' in setup, f"{path} installs from elsewhere"


def test_every_setup_cell_makes_utils_importable_the_same_way():
    """The block that finds or installs utils is the same in every notebook."""
    import json
    import re

    blocks = {}
    for notebook in sorted((REPO / "solutions").glob("*/*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        setup = "".join(next(c for c in cells if c["cell_type"] == "code")["source"])
        match = re.search(
            r"^try:\n    import utils\nexcept ImportError:\n.*?\n    import utils\n",
            setup,
            re.S | re.M,
        )
        assert match, f"{notebook.name}: no shared block that makes utils importable"
        blocks[notebook.name] = match.group(0)
    assert len(set(blocks.values())) == 1, sorted(blocks)
