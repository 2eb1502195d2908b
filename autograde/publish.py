"""`python -m autograde publish DIR --repository URL`: the repository students get.

The instructor's repository holds the solutions, the hidden tests and the mutants, so it must
stay private. Students get another one, written here from it:

- ``notebooks/``: the student notebooks, generated from ``solutions/`` with the student
  repository's URL in every setup cell (on Colab the setup cell installs ``utils`` from it);
- ``utils/``: the helper package the notebooks import (nothing of the grader);
- ``pyproject.toml``: a minimal package of ``utils`` whose dependencies are only what ``utils``
  imports, so that installing it on Colab keeps Colab's own torch and IPython;
- ``README.md``: how to work on Colab (one badge per notebook) or locally, how to check a
  notebook before submitting, and how to submit.

No solutions, hidden tests, mark schemes, mutants, or grader code are written; a test reads
the published tree for any of them. Publishing again replaces the folder's contents (but keeps
its ``.git``), so the instructor commits and pushes the difference.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

from autograde import engine
from autograde import notebook as notebook_format
from autograde.course import Course, UsageError

STUDENT_DEPENDENCIES = [
    "torch>=2.2",
    "gymnasium>=1.0,<2",
    "numpy>=1.26",
    "matplotlib>=3.8",
    "tqdm>=4.66",
]
_GITHUB = re.compile(r"^https://github\.com/([^/\s]+)/([^/\s]+?)(?:\.git)?/?$")


def colab_url(repository: str, notebook: str) -> str | None:
    """The Colab link of ``notebooks/<a>/<a>.ipynb`` in a GitHub repository (None elsewhere)."""
    match = _GITHUB.match(repository)
    if not match:
        return None
    owner, name = match.groups()
    return f"https://colab.research.google.com/github/{owner}/{name}/blob/main/{notebook}"


def publish(course: Course, folder: Path, repository: str) -> list[str]:
    """Write the student repository into ``folder``; return the notebooks written."""
    if not re.match(r"^(https://|file://|ssh://|git@)", repository):
        raise UsageError(
            f"--repository {repository!r} is not a git URL (e.g. https://github.com/ORG/REPO)"
        )
    if (
        folder.resolve() == course.root.resolve()
        or course.root.resolve() in folder.resolve().parents
    ):
        raise UsageError(f"{folder} is inside the instructor's repository: publish elsewhere")
    folder.mkdir(parents=True, exist_ok=True)
    for child in folder.iterdir():  # publishing again replaces everything but the history
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() else child.unlink()

    written = []
    for assignment in course.assignments():
        with tempfile.TemporaryDirectory(prefix="autograde-publish-") as scratch:
            release = engine.generate_assignment(
                course.solutions, assignment, Path(scratch), repository=repository
            )
            shutil.copytree(release, folder / "notebooks" / assignment)
        written.append(f"notebooks/{assignment}/{assignment}.ipynb")
    shutil.copytree(
        course.root / "utils",
        folder / "utils",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints"),
    )
    (folder / "pyproject.toml").write_text(_pyproject(course), encoding="utf-8")
    (folder / "README.md").write_text(_readme(repository, written), encoding="utf-8")
    (folder / ".gitignore").write_text(
        ".venv/\n__pycache__/\n*.egg-info/\n.ipynb_checkpoints/\n", encoding="utf-8"
    )
    return written


def _pyproject(course: Course) -> str:
    version = re.search(r'^version = "([^"]+)"', (course.root / "pyproject.toml").read_text(), re.M)
    dependencies = "".join(f'    "{d}",\n' for d in STUDENT_DEPENDENCIES)
    return f"""[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "pg-rlhf-workbook-student"
version = "{version.group(1) if version else "0.1.0"}"
description = "The helper package of the policy-gradient to RLHF workbook's notebooks."
requires-python = ">=3.10"
# Only what utils imports: on Colab, installing this keeps Colab's own torch and IPython.
dependencies = [
{dependencies}]

[project.optional-dependencies]
lab = ["jupyterlab>=4"]  # to work locally

[tool.setuptools.packages.find]
include = ["utils*"]
"""


def _readme(repository: str, notebooks: list[str]) -> str:
    badges = []
    for path in notebooks:
        url = colab_url(repository, path)
        name = Path(path).stem
        badges.append(
            f"- {name}: [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"({url})"
            if url
            else f"- {name}: `{path}`"
        )
    return f"""# The policy-gradient → RLHF workbook (student edition)

Notebooks that take you from the log-derivative trick to RLHF. Each explains one idea from the
lecture, asks you to write a few small functions, checks them with tests, and then trains
agents with your code.

## On Colab

Open a notebook with its badge and run its cells from the top. The first cell installs the
workbook's helper package (`utils`) from this repository; it keeps Colab's own PyTorch. A GPU
(Runtime → Change runtime type) is optional: everything runs on a CPU.

{chr(10).join(badges)}

Colab does not keep your work in this repository: use File → Save a copy in Drive, and work
in your copy.

## Locally, in JupyterLab

```bash
python3 -m venv .venv
.venv/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu   # see below
.venv/bin/pip install -e ".[lab]"
.venv/bin/jupyter lab notebooks/
```

The second line installs PyTorch's CPU build, about 200 MB: on Linux and Windows the default
download is the CUDA build, several GB, which only pays off with an NVIDIA GPU. Skip that line
on a Mac or on a machine with an NVIDIA GPU.

## How to work

In each notebook, replace `raise NotImplementedError()` in the cells marked `YOUR CODE HERE`
with your code and run the test cell below it: it says what was expected, what came back, and
the likely mistake. Do not edit or delete the test cells (grading puts them back) or rename the
functions. Write your answers to the questions in the cells marked `YOUR ANSWER HERE`. The
grader also runs hidden tests: passing the visible tests is necessary, not sufficient.

## Before you submit

Check the whole notebook as the grader will run it, top to bottom in a fresh kernel:

- in a notebook cell (Colab or JupyterLab; save first): `utils.validate.this_notebook()`
- or in a terminal: `python -m utils.validate notebooks/NAME/NAME.ipynb`

It prints `passed` or `FAILED` and the reason for each function.

## How to submit

Submit the `.ipynb` file of each notebook, as your course says (e.g. upload it to Canvas).
On Colab: File → Download → Download .ipynb. In JupyterLab: the file in `notebooks/`, or
File → Download. Do not rename it.
"""


def check_published(folder: Path, course: Course) -> list[str]:
    """What in ``folder`` must not be there: solution text, hidden tests, grader code."""
    problems = []
    for name in ("solutions", "autograde", "tests", "benchmarks"):
        if (folder / name).exists():
            problems.append(f"{name}/ is published")
    markers = ["BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "MARK SCHEME"]
    # A line of a solution that the notebook shows anyway (in its text or a visible test) is
    # no secret; every other line of more than a few words is.
    solutions = []
    for assignment in course.assignments():
        source = notebook_format.read(course.source_notebook(assignment))
        shown = course.release_notebook(assignment).read_text(encoding="utf-8")
        for function in notebook_format.answer_cells(source):
            body = notebook_format.cell_source(source, function)
            inside = body.split(notebook_format.BEGIN_SOLUTION)[-1].split(
                notebook_format.END_SOLUTION
            )[0]
            lines = [line.strip() for line in inside.splitlines() if len(line.strip()) > 25]
            solutions += [(function, line) for line in lines if json.dumps(line)[1:-1] not in shown]
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or ".git" in path.parts:
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        relative = path.relative_to(folder)
        problems += [f"{relative}: {marker}" for marker in markers if marker in text]
        # One common line (an advantage normalisation, a log_softmax) also written in utils or
        # another notebook is an idiom, not a leak: a file leaks a solution when it holds three or
        # more of that solution's lines.
        found: dict[str, list[str]] = {}
        for function, line in solutions:
            if line in text:
                found.setdefault(function, []).append(line)
        problems += [
            f"{relative}: a line of the solution of {function}: {line!r}"
            for function, lines in found.items()
            if len(lines) >= 3
            for line in lines
        ]
    return problems
