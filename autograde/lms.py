"""Unpack an LMS download into the ``<student>/<assignment>/<file>`` layout that grading reads.

Two kinds of zip are understood:

- a zipped class folder (``[top/]<student>/<assignment>/<notebook>.ipynb``, e.g. nbgrader's
  ``submitted/``);
- a Canvas "Download Submissions" zip, one assignment, flat names
  ``<name>[_LATE]_<user id>_<submission id>_<original file name>``; Canvas appends ``-1``,
  ``-2``... to the file name of a resubmission. The student becomes ``<name>_<user id>``.

Anything that cannot be matched to a student is reported as a warning, never silently dropped.
The zip is read defensively: no path leaves the destination, and sizes are capped.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath

from autograde.course import UsageError, did_you_mean

MAX_FILE_BYTES = 200 * 2**20
MAX_TOTAL_BYTES = 4 * 2**30

_CANVAS_NAME = re.compile(
    r"^(?P<name>[^_/]+?)(?:_LATE)?_(?P<user>\d+)_(?P<submission>\d+)_(?P<file>.+)$", re.I
)
_RESUBMISSION = re.compile(r"-\d+(?=\.ipynb$)")


def unpack(
    archive: Path, assignments: list[str], destination: Path, assignment: str | None = None
) -> list[str]:
    """Write the class folder for ``archive`` into ``destination``; return warnings."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            entries = [e for e in zipped.infolist() if not e.is_dir() and not _junk(e.filename)]
            _check_sizes(entries, archive)
            if not entries:
                raise UsageError(f"{archive.name} holds no files")
            if _is_class_folder(entries, assignments):
                return _unpack_class_folder(zipped, entries, assignments, destination)
            return _unpack_canvas(zipped, entries, assignments, destination, assignment)
    except zipfile.BadZipFile as error:
        raise UsageError(f"{archive.name} is not a readable zip file ({error})") from error


def _junk(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return any(p.startswith((".", "__MACOSX")) for p in parts) or ".ipynb_checkpoints" in parts


def _check_sizes(entries: list[zipfile.ZipInfo], archive: Path) -> None:
    too_big = [e.filename for e in entries if e.file_size > MAX_FILE_BYTES]
    if too_big:
        raise UsageError(f"{archive.name}: {too_big[0]} is over {MAX_FILE_BYTES >> 20} MiB")
    if sum(e.file_size for e in entries) > MAX_TOTAL_BYTES:
        raise UsageError(f"{archive.name} unpacks to over {MAX_TOTAL_BYTES >> 30} GiB")


def _safe_parts(name: str) -> tuple[str, ...] | None:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not parts or any(p in ("..", "") or p.startswith("/") for p in parts):
        return None
    return parts


def _is_class_folder(entries: list[zipfile.ZipInfo], assignments: list[str]) -> bool:
    for entry in entries:
        parts = _safe_parts(entry.filename) or ()
        if any(p in assignments for p in parts[1:-1]):
            return True
    return False


def _unpack_class_folder(zipped, entries, assignments, destination: Path) -> list[str]:
    warnings = []
    for entry in entries:
        parts = _safe_parts(entry.filename)
        where = next((i for i, p in enumerate(parts or ()) if p in assignments), None)
        if parts is None or where is None or where == 0:
            warnings.append(f"{entry.filename}: not in <student>/<assignment>/, not graded")
            continue
        _write(zipped, entry, destination, parts[where - 1], *parts[where:])
    return warnings


def _unpack_canvas(
    zipped, entries, assignments, destination: Path, assignment: str | None
) -> list[str]:
    matched: dict[str, list[tuple[zipfile.ZipInfo, str, int]]] = {}
    warnings = []
    for entry in entries:
        name = PurePosixPath(entry.filename).name
        match = _CANVAS_NAME.match(name)
        if match is None:
            warnings.append(
                f"{entry.filename}: cannot tell whose file this is (Canvas names files "
                "<name>_<user id>_<submission id>_<file>), not graded"
            )
            continue
        student = f"{match['name']}_{match['user']}"
        original = _RESUBMISSION.sub("", match["file"])
        matched.setdefault(student, []).append((entry, original, int(match["submission"])))
    if not matched:
        raise UsageError("no file in the zip could be matched to a student")

    if assignment is None:
        named = {
            Path(original).stem
            for files in matched.values()
            for _, original, _ in files
            if Path(original).stem in assignments
        }
        if len(named) != 1:
            raise UsageError(
                "cannot tell which assignment this zip holds "
                f"({', '.join(sorted(named)) or 'no file is named after one'}); "
                "name it with --assignment"
            )
        assignment = named.pop()
    elif assignment not in assignments:
        raise UsageError(
            f"unknown assignment {assignment!r}{did_you_mean(assignment, assignments)}"
        )

    for student, files in matched.items():
        # Several files of one name: the latest submission wins.
        latest: dict[str, tuple[zipfile.ZipInfo, int]] = {}
        for entry, original, submission in files:
            if original not in latest or submission > latest[original][1]:
                latest[original] = (entry, submission)
        for original, (entry, _) in latest.items():
            _write(zipped, entry, destination, student, assignment, original)
    return warnings


def _write(zipped: zipfile.ZipFile, entry: zipfile.ZipInfo, destination: Path, *parts: str) -> None:
    path = destination.joinpath(*parts)
    if any(p in (".", "..") for p in parts) or not path.resolve().is_relative_to(
        destination.resolve()
    ):
        return  # a crafted name that points outside the class folder
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipped.open(entry) as source:
        data = source.read(MAX_FILE_BYTES + 1)
    path.write_bytes(data[:MAX_FILE_BYTES])
