"""Grading on a Dask cluster gives the same rows as grading on this machine."""

from __future__ import annotations

import json

import pytest
from make_course import ASSIGNMENT

from autograde.grading import grade
from autograde.notebook import replace_answer

pytestmark = pytest.mark.grading
distributed = pytest.importorskip("distributed")


def test_a_local_dask_cluster_grades_like_the_local_pool(toy_course, tmp_path):
    solution = json.loads(toy_course.source_notebook(ASSIGNMENT).read_text())
    class_folder = tmp_path / "class"
    for student, notebook in [
        ("perfect", solution),
        ("half", replace_answer(solution, "mul", "def mul(a, b):\n    return a + b\n")),
        ("stub", json.loads(toy_course.release_notebook(ASSIGNMENT).read_text())),
    ]:
        path = class_folder / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(notebook))

    local = grade(toy_course, class_folder, tmp_path / "local", progress=False)
    # Worker processes (not threads): each is set up as a grading process, with its zygote.
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        remote = grade(
            toy_course,
            class_folder,
            tmp_path / "dask",
            progress=False,
            scheduler=cluster.scheduler_address,
        )
    summary = [(r.student, r.score, str(r.status), r.detail) for r in local.rows]
    assert [(r.student, r.score, str(r.status), r.detail) for r in remote.rows] == summary
    assert summary[0][:3] == ("half", 2.0, "graded")
    assert (tmp_path / "dask" / "grades.csv").read_text() == (
        tmp_path / "local" / "grades.csv"
    ).read_text()
