"""`python -m autograde grade`: every submission in, one row per (student, assignment) out.

The main process only finds submissions, checks that each file is a readable notebook, keeps
the cache and the gradebook, and renders feedback. Student code runs only in grading processes
(``--jobs`` of them locally, or the workers of a Dask cluster; see ``pool.py``): each submission
is graded in a scratch course folder of its own, and whatever goes wrong there becomes that row's
``status=error`` with a reason, never a crash of the whole run.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from autograde import cache, lms, pool, report, worker
from autograde import notebook as notebook_format
from autograde.course import Course
from autograde.datatypes import Limits, Outcome, Row, Status
from autograde.gradebook import Gradebook
from autograde.submissions import Submission, find_submissions

DEFAULT_LIMITS = Limits()


@dataclass
class Graded:
    rows: list[Row]
    warnings: list[str]  # files that became no row (not a student's, not an assignment's)


def grade(
    course: Course,
    submissions: Path,
    out: Path,
    *,
    assignment: str | None = None,
    jobs: int = 1,
    limits: Limits = DEFAULT_LIMITS,
    progress: bool = True,
    reuse: bool = True,
    scheduler: str | None = None,
    show_test_code: bool | None = None,
    prewarm: bool = True,
) -> Graded:
    """Grade a class folder or LMS zip into the gradebook in ``out`` (see ``gradebook.py``).

    ``assignment`` names the assignment of a Canvas zip when its file names do not tell.
    ``show_test_code`` shows the test cells' code in feedback (None: as the gradebook had it).
    ``prewarm=False`` starts every kernel as a new Python instead of forking the zygote.
    Returns this run's rows as they now stand in the gradebook.
    """
    with tempfile.TemporaryDirectory(prefix="autograde-unpacked-") as unpacked:
        warnings: list[str] = []
        folder = submissions
        if submissions.is_file() and (
            submissions.suffix.lower() == ".zip" or zipfile.is_zipfile(submissions)
        ):
            folder = Path(unpacked)  # a broken zip fails in unpack, with the zip reader's words
            warnings = lms.unpack(submissions, course.assignments(), folder, assignment)
        found = find_submissions(folder, course.assignments())
        rows = grade_submissions(
            course,
            found.submissions,
            out,
            jobs=jobs,
            limits=limits,
            progress=progress,
            reuse=reuse,
            scheduler=scheduler,
            prewarm=prewarm,
        )
    return Graded(record(rows, out, show_test_code=show_test_code), warnings + found.warnings)


def record(rows: list[Row], out: Path, *, show_test_code: bool | None = None) -> list[Row]:
    """Fold ``rows`` into the gradebook in ``out``, write the feedback pages and the exports;
    return the rows as they now stand in the gradebook."""
    book = Gradebook(out)
    if show_test_code is not None:
        book.show_test_code = show_test_code
    changed = book.merge(rows)
    book.save(rendered=book.rows() if show_test_code is not None else changed)
    now = [book.row(r.student, r.assignment) for r in rows]
    for before, after in zip(rows, now, strict=True):
        after.reused = before.reused
    return now


def grade_submissions(
    course: Course,
    submissions: list[Submission],
    out: Path,
    *,
    jobs: int = 1,
    limits: Limits = DEFAULT_LIMITS,
    progress: bool = True,
    reuse: bool = True,
    prewarm: bool = True,
    scheduler: str | None = None,
) -> list[Row]:
    """Grade ``submissions``; their rows, sorted (the gradebook and feedback are the caller's).

    Outcomes are cached in ``out/.cache``; with ``reuse`` an unchanged submission is not graded
    again. ``prewarm`` forks kernels from a pre-warmed process (see ``autograde.kernel.zygote``);
    without it every kernel is a new Python (slower, the same grades). ``scheduler`` is the
    address of a Dask scheduler to grade on (default: ``jobs`` local processes).
    """
    assignments = sorted({s.assignment for s in submissions})
    sources = {a: notebook_format.read(course.source_notebook(a)) for a in assignments}
    points = {a: notebook_format.test_cells(sources[a]) for a in assignments}
    written = {a: notebook_format.written_answers(sources[a]) for a in assignments}
    rows: list[Row] = []
    to_grade: list[Submission] = []
    for submission in submissions:
        a = submission.assignment
        problem = submission.problem or (
            _unreadable(submission.notebook) if submission.notebook else None
        )
        base = Row(submission.student, a, None, sum(points[a].values()), Status.ERROR)
        base.written_max = dict(written[a])
        if problem:
            base.detail = problem
            rows.append(base)
        elif submission.notebook is None:
            base.score, base.status = 0.0, Status.MISSING
            base.detail = f"nothing submitted ({submission.note})"
            rows.append(base)
        else:
            to_grade.append(submission)

    store = cache.Cache(out / ".cache")
    keys = [cache.key(s.notebook, course.source_notebook(s.assignment), limits) for s in to_grade]
    outcomes = {i: store.get(k) for i, k in enumerate(keys)} if reuse else {}
    pending = [i for i in range(len(to_grade)) if outcomes.get(i) is None]
    if pending:
        with tqdm(
            total=len(pending),
            desc="grading",
            unit="notebook",
            leave=False,
            disable=not progress,
        ) as bar:

            def done(n: int, outcome: Outcome) -> None:
                store.put(keys[pending[n]], outcome)
                bar.update(1)

            fresh = pool.run(
                course.solutions,
                sorted({to_grade[i].assignment for i in pending}),
                lambda templates: [
                    worker.Job(
                        template=templates[to_grade[i].assignment],
                        notebook=to_grade[i].notebook.read_bytes(),
                        limits=limits,
                    )
                    for i in pending
                ],
                jobs=jobs,
                prewarm=prewarm,
                scheduler=scheduler,
                on_done=done,
            )
        outcomes.update(zip(pending, fresh, strict=True))

    for i, submission in enumerate(to_grade):
        row = _row(submission, outcomes[i], points, written)
        row.key = keys[i]
        row.reused = i not in pending
        rows.append(row)
    return sorted(rows, key=lambda row: (row.student, row.assignment))


def _row(submission: Submission, outcome: Outcome, points, written) -> Row:
    a = submission.assignment
    row = Row(submission.student, a, None, sum(points[a].values()), Status.GRADED)
    row.written_max = dict(written[a])
    row.cells = {cell.grade_id: cell for cell in outcome.cells}
    if outcome.cells:
        row.score = sum(cell.score for cell in outcome.cells)
    if outcome.executed:
        row.answers = _written_answers(outcome.executed, written[a])
    notes = [submission.note] if submission.note else []
    if outcome.flags:
        row.status = Status.FLAGGED
        notes.append("; ".join(outcome.flags))
    elif outcome.error:
        row.status = Status.ERROR
    if outcome.error:
        notes.append(outcome.error)
    notes += outcome.notes
    if outcome.cells:
        lost = [
            f"{c.grade_id} {c.score:g}/{c.max_score:g}"
            for c in outcome.cells
            if c.score < c.max_score
        ]
        notes.append(f"lost points in {', '.join(lost)}" if lost else "all tests passed")
    if row.written_max and row.status == Status.GRADED:
        phrase = report.points_phrase(sum(row.written_max.values()))
        notes.append(f"written answers ({phrase}) to grade by hand")
    row.detail = "; ".join(notes)
    return row


def _written_answers(executed: bytes, written: dict[str, float]) -> dict[str, str]:
    """The student's text of each written answer in the graded notebook."""
    try:
        cells = json.loads(executed)["cells"]
    except (ValueError, KeyError):
        return {}
    return {
        notebook_format.nbgrader(c)["grade_id"]: notebook_format.source(c)
        for c in cells
        if notebook_format.is_written_answer(c)
        and notebook_format.nbgrader(c)["grade_id"] in written
    }


def _unreadable(notebook: Path) -> str | None:
    """Why ``notebook`` cannot be graded at all, or None if it is a readable notebook."""
    advice = (
        "download the notebook again (JupyterLab: File → Download; Colab: File → Download → "
        "Download .ipynb), check that it opens, and submit that file"
    )
    try:
        text = notebook.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return f"not a notebook file (not readable as text); {advice}"
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        return (
            "not a complete notebook file: it stops being valid notebook JSON at line "
            f"{error.lineno}, column {error.colno} (cut off while saving or uploading?); {advice}"
        )
    try:
        nbformat.validate(nbformat.reads(text, as_version=4))
    except Exception as error:  # any schema problem means the same thing to a student
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0][:120]
        return f"not a valid Jupyter notebook ({first_line}); {advice}"
    return None
