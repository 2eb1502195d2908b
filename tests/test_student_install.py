"""From the published student repository alone, a notebook runs where only Colab's packages are.

A fresh environment gets what Colab has (torch, NumPy, matplotlib, gymnasium, ipykernel, lent
from this one: see ``lend_packages``) and nothing of the workbook. The student repository is
published into a local git repository that stands in for the remote. A completed notebook from
it then runs top to bottom with Colab simulated (``google.colab`` importable): its setup cell
must install ``utils`` from that repository, keep the environment's torch, bring neither
nbgrader nor JupyterLab, and every visible test must pass.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograde.course import Course
from autograde.notebook import completed, read
from autograde.publish import publish

pytestmark = pytest.mark.slow
COURSE = Course.default()
ASSIGNMENT = "01_log_derivative_trick"
COLAB_PACKAGES = ["torch", "numpy", "matplotlib", "gymnasium", "ipykernel"]


def run(*command, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def lend_packages(venv, shelf, packages) -> None:
    """Make ``packages`` and everything they need importable in the fresh environment ``venv``.

    They are this environment's own, linked: ``shelf`` gets a symbolic link to each of their
    top-level files and folders and ``venv`` a .pth file naming ``shelf``, so pip in ``venv``
    sees them installed, as Colab's are, without unpacking 1.2 GB of wheels again (70 s of CPU).
    ``shelf`` lies outside ``venv``: pip never uninstalls what lies outside its environment, so
    nothing it does in ``venv`` can change this one.
    """
    from importlib.metadata import distribution

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    shelf.mkdir()
    wanted, lent = list(packages), set()
    while wanted:
        name = canonicalize_name(wanted.pop())
        if name in lent:
            continue
        lent.add(name)
        found = distribution(name)
        for top in {Path(file).parts[0] for file in found.files or []} - {"..", "__pycache__"}:
            if not (shelf / top).exists():
                (shelf / top).symlink_to(Path(found.locate_file(top)))
        for text in found.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                wanted.append(requirement.name)
    (site_packages,) = (venv / "lib").glob("python*/site-packages")
    (site_packages / "colab-packages.pth").write_text(f"{shelf}\n")


def test_a_notebook_runs_from_the_student_repository_with_only_colabs_packages(tmp_path):
    from nbclient import NotebookClient

    remote = tmp_path / "student-repository"
    url = remote.as_uri()
    publish(COURSE, remote, url)
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "publish"]):
        run("git", "-c", "user.name=t", "-c", "user.email=t@t", *command, cwd=remote)

    fresh = tmp_path / "colab"
    run(sys.executable, "-m", "venv", str(fresh))
    python = fresh / "bin" / "python"
    lend_packages(fresh, tmp_path / "colab-shelf", COLAB_PACKAGES)
    torch_before = run(str(python), "-c", "import torch; print(torch.__version__)").stdout

    kernels = tmp_path / "jupyter" / "kernels" / "colab"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "a fresh environment, as on Colab",
                "language": "python",
            }
        )
    )
    student = completed(
        read(remote / "notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
        read(COURSE.source_notebook(ASSIGNMENT)),
    )
    colab = {
        "cell_type": "code",
        "metadata": {},
        "outputs": [],
        "execution_count": None,
        # Colab, as the setup cell sees it: google.colab is imported
        "source": "import sys, types\nsys.modules['google.colab'] = types.ModuleType('colab')",
    }
    student["cells"].insert(0, colab)
    workdir = tmp_path / "content"  # Colab's working folder: no copy of the workbook above it
    workdir.mkdir()
    environment = {"JUPYTER_PATH": str(tmp_path / "jupyter"), "NBGRADER_EXECUTION": "validate"}
    previous = {key: os.environ.get(key) for key in environment}
    os.environ.update(environment)
    try:
        import nbformat

        notebook = nbformat.reads(json.dumps(student), as_version=4)  # sources as strings
        NotebookClient(
            notebook,
            timeout=600,
            kernel_name="colab",
            resources={"metadata": {"path": str(workdir)}},
        ).execute()  # raises with the failing cell on any error
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    tests = [c for c in notebook.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    assert tests and all(
        any("passed" in o.get("text", "") for o in c.outputs)
        for c in tests
        if c.cell_type == "code"
    )
    installed = run(str(python), "-m", "pip", "list", "--format=freeze").stdout.lower()
    assert "pg-rlhf-workbook-student" in installed
    for instructor_only in ("nbgrader", "jupyterlab", "nbconvert"):
        assert instructor_only not in installed, f"{instructor_only} came with the student package"
    assert run(str(python), "-c", "import torch; print(torch.__version__)").stdout == torch_before
