"""`python -m autograde grade`: every submission in, one row per (student, assignment) out.

The main process only finds submissions, checks that each file is a readable notebook, and writes
the results. nbgrader runs in worker processes (``--jobs`` of them): each submission is graded in
a scratch course folder of its own, and whatever goes wrong there becomes that row's
``status=error`` with a reason, never a crash of the whole run.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from autograde import cache, engine, lms, report, worker
from autograde.course import Course
from autograde.datatypes import Limits, Outcome, Row, Status
from autograde.kernel import landlock
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
) -> Graded:
    """Grade a class folder or LMS zip; write ``out/grades.csv`` and ``out/feedback/``.

    ``assignment`` names the assignment of a Canvas zip when its file names do not tell.
    """
    with tempfile.TemporaryDirectory(prefix="autograde-unpacked-") as unpacked:
        warnings: list[str] = []
        folder = submissions
        if submissions.is_file() and zipfile.is_zipfile(submissions):
            folder = Path(unpacked)
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
        )
    report.write_csv(rows, out / "grades.csv")
    return Graded(rows, warnings + found.warnings)


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
) -> list[Row]:
    """Grade ``submissions``; feedback goes to ``out/feedback``. Rows come back sorted.

    Outcomes are cached in ``out/.cache``; with ``reuse`` an unchanged submission is not graded
    again. ``prewarm`` forks kernels from a pre-warmed process (see ``autograde.kernel.zygote``);
    without it every kernel is a new Python (slower, the same grades).
    """
    assignments = sorted({s.assignment for s in submissions})
    points = {a: engine.test_cells(course.source_notebook(a)) for a in assignments}
    manual = {a: report.manual_points(course.source_notebook(a)) for a in assignments}
    rows: list[Row] = []
    to_grade: list[Submission] = []
    for submission in submissions:
        max_score = sum(points[submission.assignment].values())
        problem = _unreadable(submission.notebook) if submission.notebook else None
        if submission.problem:
            rows.append(
                Row(
                    submission.student,
                    submission.assignment,
                    None,
                    max_score,
                    Status.ERROR,
                    submission.problem,
                )
            )
        elif submission.notebook is None:
            rows.append(
                Row(
                    submission.student,
                    submission.assignment,
                    0.0,
                    max_score,
                    Status.MISSING,
                    f"nothing submitted ({submission.note})",
                )
            )
        elif problem:
            rows.append(
                Row(
                    submission.student,
                    submission.assignment,
                    None,
                    max_score,
                    Status.ERROR,
                    problem,
                )
            )
        else:
            to_grade.append(submission)

    store = cache.Cache(out / ".cache")
    keys = [cache.key(s.notebook, course.source_notebook(s.assignment), limits) for s in to_grade]
    outcomes = {i: store.get(k) for i, k in enumerate(keys)} if reuse else {}
    pending = [i for i in range(len(to_grade)) if outcomes.get(i) is None]
    if pending:
        fresh = _run_workers(
            course,
            [to_grade[i] for i in pending],
            limits,
            jobs,
            progress,
            on_done=lambda n, outcome: store.put(keys[pending[n]], outcome),
            prewarm=prewarm,
        )
        outcomes.update(zip(pending, fresh, strict=True))

    # Written only now that no student code runs any more.
    for i, submission in enumerate(to_grade):
        rows.append(_row(submission, outcomes[i], points, manual, out))
        rows[-1].reused = i not in pending
    for row in rows:
        if row.feedback is None:
            row.feedback = report.write_error_feedback(row, _feedback_path(out, row))
    return sorted(rows, key=lambda row: (row.student, row.assignment))


def _run_workers(
    course, submissions, limits, jobs, progress, on_done, prewarm=True
) -> list[Outcome]:
    """Grade ``submissions`` in a pool of workers; ``on_done(index, outcome)`` as each ends."""
    assignments = sorted({s.assignment for s in submissions})
    # With Landlock the kernels cannot write the solutions at all. Without it, they are checked
    # after each submission and put back: then do not edit solutions/ while grade runs.
    protected = () if landlock.abi_version() else (str(course.solutions),)
    with tempfile.TemporaryDirectory(prefix="autograde-") as scratch:
        work = Path(scratch)
        with ProcessPoolExecutor(
            max_workers=max(1, jobs),
            mp_context=get_context("spawn"),
            initializer=worker.start,
            initargs=(str(work / "worker.log"), prewarm),
        ) as pool:
            # Every grading run starts from the instructor's current source.
            templates = dict(
                zip(
                    assignments,
                    pool.map(
                        worker.prepare, [str(course.solutions)] * len(assignments), assignments
                    ),
                    strict=True,
                )
            )
            futures = [
                pool.submit(
                    worker.grade_one,
                    worker.Job(
                        template=templates[s.assignment],
                        notebook=str(s.notebook),
                        run=str(work / "runs" / f"{i:05d}"),
                        limits=limits,
                        protected=protected,
                    ),
                )
                for i, s in enumerate(submissions)
            ]
            return _wait(futures, enabled=progress, on_done=on_done)


def _row(submission: Submission, outcome: Outcome, points, manual, out: Path) -> Row:
    max_score = sum(points[submission.assignment].values())
    row = Row(submission.student, submission.assignment, None, max_score, Status.GRADED)
    row.cells = {cell.grade_id: cell for cell in outcome.cells}
    if outcome.cells:
        row.score = sum(cell.score for cell in outcome.cells)
    notes = [submission.note] if submission.note else []
    if outcome.flags:
        row.status = Status.FLAGGED
        notes.append("flagged: " + "; ".join(outcome.flags))
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
    if manual[submission.assignment] and row.status == Status.GRADED:
        phrase = report.points_phrase(manual[submission.assignment])
        notes.append(f"written answers ({phrase}) to grade by hand")
    row.detail = "; ".join(notes)
    if outcome.feedback:
        destination = _feedback_path(out, row)
        destination.parent.mkdir(parents=True, exist_ok=True)
        page = outcome.feedback
        destination.write_bytes(
            page if row.status == Status.GRADED else report.with_banner(page, row)
        )
        row.feedback = destination
    return row


def _feedback_path(out: Path, row: Row) -> Path:
    return out / "feedback" / row.student / row.assignment / f"{row.assignment}.html"


def _unreadable(notebook: Path) -> str | None:
    """Why ``notebook`` cannot be graded at all, or None if it is a readable notebook."""
    advice = "open it in JupyterLab, save it, and resubmit the .ipynb file"
    try:
        text = notebook.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return f"not a notebook file (not readable as text); {advice}"
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        return (
            f"not a valid notebook file (broken JSON at line {error.lineno}, "
            f"column {error.colno}: {error.msg}); {advice}"
        )
    try:
        nbformat.validate(nbformat.reads(text, as_version=4))
    except Exception as error:  # any schema problem means the same thing to a student
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0][:120]
        return f"not a valid Jupyter notebook ({first_line}); {advice}"
    return None


def _wait(futures: list, *, enabled: bool, on_done) -> list[Outcome]:
    """Every outcome, in submission order; the bar moves and ``on_done`` runs as each ends."""
    index = {future: i for i, future in enumerate(futures)}
    outcomes: list[Outcome | None] = [None] * len(futures)
    with tqdm(
        total=len(futures),
        desc="grading",
        unit="notebook",
        leave=False,
        disable=not enabled or not futures,
    ) as bar:
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except Exception as error:  # noqa: BLE001 - a dead worker must not lose the row
                outcome = Outcome(
                    error=f"the grading process failed ({type(error).__name__}); run grade again"
                )
            else:
                on_done(index[future], outcome)
            outcomes[index[future]] = outcome
            bar.update(1)
    return outcomes
