"""The only module that talks to nbgrader.

nbgrader's converters are run in-process (no `nbgrader` subprocess, so its ~4 s start-up is paid
once per worker, not once per notebook) on a scratch *course folder* that this module lays out::

    <course>/source/<assignment>/<notebook>.ipynb      instructor source (with hidden tests)
    <course>/release/<assignment>/...                  student version
    <course>/submitted/<student>/<assignment>/...      one submission
    <course>/autograded/..., <course>/feedback/...     nbgrader's outputs
    <course>/gradebook.db                              nbgrader's gradebook

Grading a submission copies the gradebook made by `generate_assignment` (it holds the source of
every test cell, hidden tests included) into a course folder of its own, so submissions never
share state and can be graded in parallel.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import shutil
import sys
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from autograde import notebook as notebook_format

# nbgrader shells out to `alembic` and starts kernels as `python`: both must be this
# environment's, even when the tool is run as `.venv/bin/python -m autograde` without activating.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")

CONFIG_FILE = Path(__file__).with_name("nbgrader_config.py")
# nbgrader needs path-safe ids; the real student name never reaches it.
STUDENT_ID = "student"


class NbgraderFailed(Exception):
    """nbgrader could not process a notebook; the message is nbgrader's own log tail."""


def course_config(course: Path, *, timeout: int | None = None) -> Config:
    """nbgrader configuration for a scratch course folder."""
    config = PyFileConfigLoader(CONFIG_FILE.name, path=str(CONFIG_FILE.parent)).load_config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
    if timeout is not None:
        config.Execute.timeout = timeout
    return config


@functools.cache
def alembic_head() -> str:
    """The revision of nbgrader's gradebook schema, read from its migration scripts in-process.

    nbgrader stamps every new gradebook with it by running `alembic heads` as a subprocess: a new
    Python that imports SQLAlchemy, 3-6 s of CPU for a 12-character constant, paid by each
    grading process for each assignment and by every `release`.
    """
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    return ScriptDirectory(ALEMBIC_DIR).get_current_head()


class _SchemaCheckedOnce:
    """Stands in for the ``jsonschema`` module in nbgrader's metadata check, which calls
    ``jsonschema.validate(metadata, schema)`` for every cell of every notebook and so checks the
    (constant) schema itself each time: 0.25 s of a submission's CPU. Same validation, same
    ``ValidationError`` on bad metadata; the schema is checked once per process."""

    def __init__(self) -> None:
        self._validators: dict[int, tuple[dict, object]] = {}

    def validate(self, instance, schema) -> None:
        import jsonschema

        if id(schema) not in self._validators:
            validator_class = jsonschema.validators.validator_for(schema)
            validator_class.check_schema(schema)
            self._validators[id(schema)] = (schema, validator_class(schema))  # keeps schema alive
        _, validator = self._validators[id(schema)]
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error


@functools.cache
def _patch_nbgrader() -> None:
    """Two of nbgrader's costs, removed without changing what it computes (see above)."""
    import nbgrader.api
    import nbgrader.nbgraderformat.common

    nbgrader.api.get_alembic_version = alembic_head
    nbgrader.nbgraderformat.common.jsonschema = _SchemaCheckedOnce()


def _run(app_class, course: Path, config: Config, **ids: str) -> None:
    """Run one nbgrader converter; raise NbgraderFailed with its log if it fails."""
    from nbgrader.coursedir import CourseDirectory

    _patch_nbgrader()

    coursedir = CourseDirectory(config=config)
    for key, value in ids.items():
        setattr(coursedir, key, value)
    app = app_class(coursedir=coursedir, config=config)
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    app.log.addHandler(handler)
    app.log.propagate = False
    try:
        app.start()
    except Exception as error:
        raise NbgraderFailed(log.getvalue() or str(error)) from error
    finally:
        app.log.removeHandler(handler)


def generate_assignment(
    source: Path, assignment: str, course: Path, *, repository: str | None = None
) -> Path:
    """Make the student version of ``source/<assignment>`` in ``course``.

    Returns the release folder. The course's gradebook now knows the assignment, which is what
    grading needs. ``course`` is created (and emptied first if it exists). With ``repository``,
    the setup cell names that student repository (stamped before nbgrader checksums the cell).
    """
    from nbgrader.converters import GenerateAssignment

    if course.exists():
        shutil.rmtree(course)
    shutil.copytree(
        source / assignment,
        course / "source" / assignment,
        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
    )
    if repository is not None:
        copied = only_notebook(course / "source" / assignment)
        stamped = notebook_format.stamp_repository(notebook_format.read(copied), repository)
        copied.write_text(json.dumps(stamped, indent=1, ensure_ascii=False) + "\n", "utf-8")
    config = course_config(course)
    _run(GenerateAssignment, course, config, assignment_id=assignment)
    return course / "release" / assignment


def autograde(
    template: Path,
    assignment: str,
    notebook: Path,
    course: Path,
    *,
    timeout: int | None = None,
    kernel_name: str | None = None,
    output_chars: int = 20_000,
) -> Path:
    """Autograde one submitted notebook; return the executed notebook.

    ``template`` is a course folder prepared by :func:`generate_assignment`. Raises
    :class:`NbgraderFailed` when nbgrader could not grade the notebook (for example when the
    kernel died). ``kernel_name`` overrides the notebook's kernel (the grader's sandbox).
    """
    from nbgrader.converters import Autograde

    if course.exists():
        shutil.rmtree(course)
    shutil.copytree(template / "source", course / "source")
    shutil.copy(template / "gradebook.db", course / "gradebook.db")
    submitted = course / "submitted" / STUDENT_ID / assignment
    submitted.mkdir(parents=True)
    notebook_id = only_notebook(template / "source" / assignment).stem
    shutil.copy(notebook, submitted / f"{notebook_id}.ipynb")

    config = course_config(course, timeout=timeout)
    if kernel_name:
        config.Execute.kernel_name = kernel_name
    config.Autograde.autograde_preprocessors = _autograde_preprocessors(output_chars)
    _run(Autograde, course, config, assignment_id=assignment, student_id=STUDENT_ID)
    return course / "autograded" / STUDENT_ID / assignment / f"{notebook_id}.ipynb"


def _autograde_preprocessors(output_chars: int) -> list:
    """nbgrader's own autograde steps, with a cap on output size right after execution."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute, NbGraderPreprocessor

    # An nbgrader preprocessor, enabled by default: nbconvert registers a plain one disabled.
    class LimitOutputChars(NbGraderPreprocessor):
        """nbgrader limits the lines of each output; a 100 MB print must not reach the gradebook
        either, as one huge output or as thousands of small ones. Each cell keeps at most
        ``output_chars`` characters of text and ``IMAGE_CHARS`` of images; the rest is cut, and
        the cut said. Errors are always kept (they decide the score)."""

        def preprocess_cell(self, cell, resources, index):
            left = {"text": output_chars, "image": IMAGE_CHARS}
            kept = []
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["evalue"] = output.get("evalue", "")[:output_chars]
                    kept.append(output)
                    continue
                holders = [(output, "text")] if output.get("output_type") == "stream" else []
                holders += [(output.get("data", {}), mime) for mime in output.get("data", {})]
                keep = False
                for holder, key in holders:
                    value = holder[key]
                    if not isinstance(value, str):
                        keep = True
                        continue
                    kind = "image" if key.startswith("image/") else "text"
                    if left[kind] <= 0:
                        holder[key] = ""
                        continue
                    keep = True
                    if len(value) > left[kind]:
                        cut = len(value) - left[kind]
                        holder[key] = (
                            ""
                            if kind == "image"
                            else value[: left[kind]]
                            + f"\n... [{cut:,} more characters not kept by the grader]\n"
                        )
                    left[kind] -= len(value)
                if keep or not holders:
                    kept.append(output)
            cell["outputs"] = kept
            return cell, resources

    steps = list(Autograde.class_traits()["autograde_preprocessors"].default())
    if Execute not in steps:
        raise RuntimeError(f"nbgrader's autograde steps have no Execute step: {steps}")
    steps.insert(steps.index(Execute) + 1, LimitOutputChars)
    return steps


IMAGE_CHARS = 2 * 2**20  # base64 characters of plots kept per cell


STATIC_TABLES = [
    "assignment",
    "notebook",
    "base_cell",
    "grade_cells",
    "solution_cells",
    "source_cell",
    "task_cells",
]


def gradebook_fingerprint(database: Path) -> str:
    """What generate_assignment wrote (schema and cell tables); grading must not change it."""
    import hashlib
    import sqlite3

    digest = hashlib.sha256()
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        schema = connection.execute("select type, name, sql from sqlite_master order by name")
        digest.update(repr(schema.fetchall()).encode())
        for table in STATIC_TABLES:
            rows = connection.execute(f"select * from {table} order by 1").fetchall()
            digest.update(repr(sorted(map(repr, rows))).encode())
    return digest.hexdigest()


def test_cells(notebook: Path) -> dict[str, float]:
    """``grade_id -> points`` of the autograded test cells of a source notebook file."""
    return notebook_format.test_cells(notebook_format.read(notebook))


def only_notebook(folder: Path) -> Path:
    """The one notebook of an assignment folder (the workbook has one notebook per assignment)."""
    notebooks = sorted(folder.glob("*.ipynb"))
    if len(notebooks) != 1:
        raise ValueError(f"{folder} should hold exactly one notebook, found {len(notebooks)}")
    return notebooks[0]
