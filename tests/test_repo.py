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
    assert tests.endswith("python -m pytest")


def test_ci_runs_the_readme_test_command():
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    awk = re.search(r"command=\$\((awk .*)\)\n", script).group(1)
    extracted = subprocess.run(["bash", "-c", awk], cwd=REPO, capture_output=True, text=True)
    assert extracted.stdout.strip() == block_after("setup:tests")


def test_torch_is_pinned_for_cpu_but_not_in_the_project():
    assert (REPO / "constraints.txt").read_text().split() == ["torch==2.13.0"]
    pyproject = (REPO / "pyproject.toml").read_text()
    assert re.search(r'"torch[^"]*"', pyproject).group(0) == '"torch>=2.2"'


def test_colab_badges_and_setup_cells_name_the_same_repository():
    """A fork changes one URL in several places; this test lists the places that disagree."""
    import json

    badge_repos = set(re.findall(r"colab\.research\.google\.com/github/([^/]+/[^/]+)/", README))
    assert len(badge_repos) == 1, badge_repos
    (repository,) = badge_repos
    for notebook in sorted((REPO / "notebooks").glob("*/*.ipynb")):
        assert f"notebooks/{notebook.parent.name}/{notebook.name}" in README, (
            f"README has no Colab badge for {notebook.name}"
        )
        cells = json.loads(notebook.read_text())["cells"]
        setup = "".join(next(c for c in cells if c["cell_type"] == "code")["source"])
        assert f"github.com/{repository}" in setup, f"{notebook.name} installs another repository"
