"""What runs in a grading worker process: one submission at a time, sandboxed, watched, checked.

The main process never imports nbgrader or runs student code; it hands :class:`Job` objects to a
pool of these workers and gets :class:`Outcome` objects back. Everything that can go wrong with
one submission ends here, in its ``Outcome``.

One submission goes through:

1. a private copy of the grading template (made in memory by :func:`prepare`, so no other
   submission can have touched it);
2. :func:`integrity.rebuild` onto the template's skeleton (deleted, moved or edited test cells
   restored);
3. nbgrader's autograde, with the kernel started by ``sandbox.py`` and watched by ``watchdog.py``;
4. checks of what came out: the guard's findings, cell time-outs and memory errors, test results
   recomputed from the executed notebook, nbgrader's gradebook compared with the template's, and
   the instructor's files compared with their bytes before the run (and put back if changed);
5. the executed notebook, without the guard's traces, for the feedback page.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from autograde import engine, integrity
from autograde import notebook as notebook_format
from autograde.datatypes import CellScore, Limits, Outcome
from autograde.kernel import landlock, provisioner, sandbox
from autograde.kernel.guard import MARKER
from autograde.kernel.watchdog import Watchdog
from autograde.kernel.zygote import KERNEL_ONLY, PRELOAD


@dataclass(frozen=True)
class Template:
    """A grading template, as bytes: the scratch course folder that generate_assignment made."""

    assignment: str
    token: str  # names the integrity guard in this template's cells
    files: dict[str, bytes]

    def write(self, folder: Path) -> Path:
        for relative, content in self.files.items():
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        return folder


@dataclass(frozen=True)
class Job:
    """One submission to grade: everything travels as bytes, so a worker may be on any machine."""

    template: Template
    notebook: bytes  # the submitted file (already checked to be a readable notebook)
    limits: Limits = Limits()


_scratch: Path | None = None  # this worker's scratch folder (see start)


def start(
    scratch: str, prewarm: bool = True, *, quiet: bool = True, preload: list[str] | None = None
) -> None:
    """Set up a grading process: a scratch folder, the sandbox kernel, maybe the zygote.

    ``quiet`` sends nbgrader's chatter (on stdout and stderr) to ``scratch/worker.log``. With
    ``prewarm`` (Linux), kernels are forked from a zygote that has imported the heavy modules
    once (``autograde.kernel.zygote``), instead of started as new Pythons; ``preload`` names
    them (default ``zygote.PRELOAD``; see :func:`preload_for`).
    """
    global _scratch
    _scratch = Path(scratch)
    (_scratch / "tmp").mkdir(parents=True, exist_ok=True)
    # Every temporary file of this process (kernel connection files among them) in the scratch,
    # which is removed when the process stops, however it stops.
    os.environ["TMPDIR"] = str(_scratch / "tmp")
    tempfile.tempdir = None
    warnings.filterwarnings("ignore")
    if quiet:
        descriptor = os.open(_scratch / "worker.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(descriptor, 1)
        os.dup2(descriptor, 2)
    share = _scratch / "share"
    sandbox.install_kernelspec(share)
    os.environ["JUPYTER_PATH"] = str(share)
    provisioner.register()
    _scratch_gradebooks_without_fsync()
    if prewarm and provisioner.can_prewarm():
        folder = Path(tempfile.mkdtemp(prefix="zygote-", dir=_scratch))
        provisioner.start_zygote(folder, preload)


def _scratch_gradebooks_without_fsync() -> None:
    """Every SQLite database this grading process opens is a scratch copy of an assignment's
    gradebook, thrown away after one submission: nbgrader's commits need not wait for the disk
    (they did, ~0.25 s per submission). Only grading processes do this; the main process's
    gradebook stays durable."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "connect", _without_fsync):
        event.listen(Engine, "connect", _without_fsync)


def _without_fsync(connection, _record) -> None:
    if type(connection).__module__.startswith("sqlite3"):
        cursor = connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA journal_mode=MEMORY")
        cursor.close()


def shutdown() -> None:
    """Stop this grading process's kernels (and all they started) and remove its scratch."""
    provisioner.stop_zygote()
    if _scratch is not None:
        shutil.rmtree(_scratch, ignore_errors=True)


def protected_folders() -> tuple[str, ...]:
    """Folders student code must not change: with Landlock it cannot, so there are none to
    check; without it, this installation's solutions (checked after each submission and put
    back: do not edit solutions/ while grade runs there)."""
    from autograde.course import Course

    if landlock.abi_version():
        return ()
    solutions = Course.default().solutions
    return (str(solutions),) if solutions.is_dir() else ()


def preload_for(solutions: Path, assignments: list[str]) -> list[str]:
    """What the zygote of a run grading ``assignments`` should import: all of
    ``zygote.PRELOAD``, unless every notebook imports only the standard library."""
    sources = [notebook_format.read(engine.only_notebook(solutions / a)) for a in assignments]
    if any(map(notebook_format.imports_beyond_the_standard_library, sources)):
        return PRELOAD
    return KERNEL_ONLY


def prepare(solutions: str, assignment: str) -> Template:
    """The grading template of an assignment: its source with the integrity guard, released."""
    token = secrets.token_hex(8)
    source = engine.only_notebook(Path(solutions) / assignment)
    guarded = integrity.add_guard(json.loads(source.read_text(encoding="utf-8")), token)
    with tempfile.TemporaryDirectory(prefix="autograde-template-") as scratch:
        source_root = Path(scratch) / "solutions"
        shutil.copytree(Path(solutions) / assignment, source_root / assignment)
        (source_root / assignment / source.name).write_text(json.dumps(guarded), encoding="utf-8")
        course = Path(scratch) / "course"
        engine.generate_assignment(source_root, assignment, course)
        files = {
            str(path.relative_to(course)): path.read_bytes()
            for path in sorted(course.rglob("*"))
            if path.is_file()
        }
    return Template(assignment, token, files)


def grade_one(job: Job) -> Outcome:
    """Grade one submission in a scratch folder of its own, removed afterwards."""
    if _scratch is None:
        raise RuntimeError("worker.start() was not called in this process")
    run = Path(tempfile.mkdtemp(prefix="run-", dir=_scratch))
    try:
        return _grade(job, run)
    finally:
        shutil.rmtree(run, ignore_errors=True)


def _grade(job: Job, run: Path) -> Outcome:
    template = job.template.write(run / "template")
    assignment = job.template.assignment
    skeleton_path = engine.only_notebook(template / "release" / assignment)
    rebuilt = integrity.rebuild(
        json.loads(job.notebook.decode("utf-8")),
        json.loads(skeleton_path.read_text(encoding="utf-8")),
        assignment=assignment,
    )
    if rebuilt.problem:
        return Outcome(error=rebuilt.problem)
    to_grade = run / skeleton_path.name
    to_grade.write_text(json.dumps(rebuilt.notebook), encoding="utf-8")

    outcome = Outcome(notes=list(rebuilt.notes))
    protected = protected_folders()
    before = _fingerprints(protected)
    limits = job.limits
    os.environ[sandbox.ENV_VAR] = sandbox.KernelLimits(
        memory_bytes=limits.address_space_bytes,
        file_bytes=limits.file_bytes,
        sandbox=str(run / "sandbox"),
    ).to_env()
    zygote = provisioner.current_zygote()
    watchdog = Watchdog(
        memory_bytes=limits.memory_bytes,
        processes=limits.processes,
        seconds=limits.notebook_timeout,
        root=zygote.pid if zygote else None,
    )
    course = run / "course"
    watchdog.start()
    try:
        executed_path = engine.autograde(
            template,
            assignment,
            to_grade,
            course,
            timeout=limits.cell_timeout,
            kernel_name=sandbox.KERNEL_NAME,
            output_chars=limits.output_chars,
        )
    except engine.NbgraderFailed as failure:
        outcome.error = _limit_message(watchdog) or explain_failure(str(failure))
        executed_path = None
    except Exception as error:  # noqa: BLE001 - a student's notebook must never stop the class
        outcome.error = f"could not be graded ({type(error).__name__}: {error})"
        executed_path = None
    finally:
        watchdog.stop()
    outcome.flags += _restore_changed(before, protected)
    if watchdog.reason and not outcome.error:
        outcome.error = _limit_message(watchdog)
    if executed_path is None:
        return outcome

    executed = json.loads(executed_path.read_text(encoding="utf-8"))
    tests = engine.test_cells(engine.only_notebook(template / "source" / assignment))
    findings, tampered_from = guard_findings(executed, job.template.token)
    outcome.cells = scores_from_outputs(executed, tests, zero_from=tampered_from)
    outcome.flags += findings
    problem = execution_problem(executed, limits)
    if problem and not outcome.error:
        outcome.error = problem
    try:
        altered = engine.gradebook_fingerprint(course / "gradebook.db") != (
            engine.gradebook_fingerprint(template / "gradebook.db")
        )
    except Exception:  # noqa: BLE001 - an unreadable gradebook is itself a finding
        altered = True
    if altered:
        outcome.flags.append("the gradebook was altered while the notebook ran")
    # The feedback page is made from this by the main process (autograde/feedback.py).
    outcome.executed = json.dumps(integrity.remove_guard(executed, job.template.token)).encode()
    return outcome


# --- checks on the executed notebook -------------------------------------------------------------


def _test_id(cell: dict) -> str | None:
    return notebook_format.nbgrader(cell)["grade_id"] if notebook_format.is_test(cell) else None


def scores_from_outputs(
    executed: dict, tests: dict[str, float], zero_from: int | None = None
) -> list[CellScore]:
    """Each test cell scores its points if it shows no error, else 0.

    This is nbgrader's rule without its quirks: output on stderr (a warning) does not fail a
    test, and a numeric last value does not give partial credit. Test cells at or after cell
    ``zero_from`` (where tampering was found) score 0.
    """
    passed: dict[str, bool] = {}
    for index, cell in enumerate(executed["cells"]):
        grade_id = _test_id(cell)
        if grade_id in tests and grade_id not in passed:
            outputs = cell.get("outputs", [])
            ok = not any(o.get("output_type") == "error" for o in outputs)
            passed[grade_id] = ok and (zero_from is None or index < zero_from)
    return sorted(
        (
            CellScore(gid, points if passed.get(gid) else 0.0, points)
            for gid, points in tests.items()
        ),
        key=lambda cell: cell.grade_id,
    )


def guard_findings(executed: dict, token: str) -> tuple[list[str], int | None]:
    """What the integrity guard reported in the executed notebook, and the first cell it did."""
    findings = []
    first = None
    marker = f"{MARKER} {token} "
    for index, cell in enumerate(executed["cells"]):
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            text = text if isinstance(text, str) else "".join(text)
            found = [
                line[len(marker) :].strip() for line in text.splitlines() if line.startswith(marker)
            ]
            if output.get("output_type") == "error" and integrity.guard_name(token) in (
                output.get("evalue", "")
            ):
                found.append("removed the grader's integrity checks")
            if found and first is None:
                first = index
            findings += found
    return list(dict.fromkeys(findings)), first


def execution_problem(executed: dict, limits: Limits) -> str:
    """A limit the notebook ran into (a cell time-out, memory), as a line for the student."""
    for cell in executed["cells"]:
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            if output.get("ename") == "CellTimeoutError":
                seconds = f" of {limits.cell_timeout} s" if limits.cell_timeout else ""
                return (
                    f"a cell ran past the time limit{seconds} and was stopped; make sure "
                    "every cell finishes (look for endless loops)"
                )
            if output.get("ename") == "MemoryError":
                return (
                    f"the notebook ran out of memory (limit {limits.memory_bytes / 2**30:g} "
                    "GiB); look for huge arrays or lists"
                )
    return ""


# --- the instructor's files ----------------------------------------------------------------------


def _fingerprints(folders: tuple[str, ...]) -> dict[Path, bytes]:
    contents = {}
    for folder in folders:
        for path in Path(folder).rglob("*"):
            if path.is_file() and ".ipynb_checkpoints" not in path.parts:
                contents[path] = path.read_bytes()
    return contents


def _restore_changed(before: dict[Path, bytes], folders: tuple[str, ...]) -> list[str]:
    """Put back any protected file the submission changed, removed or added; say so."""
    after = _fingerprints(folders)
    touched = sorted({p for p in before if after.get(p) != before[p]} | (set(after) - set(before)))
    for path in touched:
        if path in before:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(before[path])
        else:
            path.unlink(missing_ok=True)
    if not touched:
        return []
    names = ", ".join(p.name for p in touched[:3])
    return [f"wrote to the instructor's files ({names}); they were restored"]


def _limit_message(watchdog: Watchdog) -> str:
    if not watchdog.reason:
        return ""
    return (
        f"stopped by the grader: the notebook {watchdog.reason}; make sure it finishes "
        f"quickly and within its resources when run top to bottom"
    )


_DIED = (
    "the notebook's Python process died while running (a crash, a call to os._exit, or too "
    "much memory); run it top to bottom yourself to find the cell"
)
# (markers in nbgrader's log, what to tell the student)
_KNOWN_FAILURES: list[tuple[tuple[str, ...], str]] = [
    (("DeadKernelError", "Kernel died"), _DIED),
    (
        ("UnresponsiveKernelError",),
        "the notebook stopped responding (an endless loop that could not be interrupted); "
        "make sure every cell finishes",
    ),
    (("CellTimeoutError",), "a cell ran longer than the time limit; make sure every cell finishes"),
    (("MissingEntry",), "the notebook does not match this assignment's cells"),
]


def explain_failure(log: str) -> str:
    """Turn nbgrader's log of a failed notebook into one line a student can act on."""
    for markers, explanation in _KNOWN_FAILURES:
        if any(marker in log for marker in markers):
            return explanation
    errors = [line for line in log.splitlines() if line.strip() and not line.startswith(" ")]
    last = errors[-1] if errors else "unknown error"
    return f"could not be graded: {last[:200]}"
