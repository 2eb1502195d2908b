"""LMS downloads are unpacked into the class-folder layout; nothing is silently dropped."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from autograde.course import UsageError
from autograde.lms import unpack

ASSIGNMENTS = ["01_log_derivative_trick", "02_variance_reduction"]


def make_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zipped:
        for name, data in files.items():
            zipped.writestr(name, data)
    return path


def tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_canvas_names_become_students_and_the_latest_resubmission_wins(tmp_path):
    archive = make_zip(
        tmp_path / "submissions.zip",
        {
            "smithjane_1234_555_01_log_derivative_trick.ipynb": b"old",
            "smithjane_1234_777_01_log_derivative_trick-1.ipynb": b"new",
            "doejohn_LATE_42_600_my notebook.ipynb": b"renamed",
            "leeann_7_601_essay.pdf": b"pdf",
            "readme.txt": b"stray",
        },
    )
    warnings = unpack(archive, ASSIGNMENTS, tmp_path / "class")
    assert tree(tmp_path / "class") == {
        "smithjane_1234/01_log_derivative_trick/01_log_derivative_trick.ipynb": b"new",
        "doejohn_42/01_log_derivative_trick/my notebook.ipynb": b"renamed",
        "leeann_7/01_log_derivative_trick/essay.pdf": b"pdf",
    }
    assert len(warnings) == 1 and warnings[0].startswith("readme.txt: cannot tell whose file")


def test_a_zipped_class_folder_is_unpacked_as_it_is(tmp_path):
    archive = make_zip(
        tmp_path / "class.zip",
        {
            "submitted/ada/01_log_derivative_trick/01_log_derivative_trick.ipynb": b"a",
            "submitted/bob/02_variance_reduction/02_variance_reduction.ipynb": b"b",
            "submitted/notes.txt": b"x",
            "__MACOSX/ada/._junk": b"",
        },
    )
    warnings = unpack(archive, ASSIGNMENTS, tmp_path / "class")
    assert set(tree(tmp_path / "class")) == {
        "ada/01_log_derivative_trick/01_log_derivative_trick.ipynb",
        "bob/02_variance_reduction/02_variance_reduction.ipynb",
    }
    assert warnings == ["submitted/notes.txt: not in <student>/<assignment>/, not graded"]


def test_names_that_point_outside_the_class_folder_are_not_written(tmp_path):
    archive = make_zip(
        tmp_path / "evil.zip",
        {
            "ada/01_log_derivative_trick/../../../escaped.ipynb": b"x",
            "eve_1_2_..": b"x",
            "ada/01_log_derivative_trick/01_log_derivative_trick.ipynb": b"ok",
        },
    )
    unpack(archive, ASSIGNMENTS, tmp_path / "class")
    assert not (tmp_path / "escaped.ipynb").exists()
    assert set(tree(tmp_path / "class")) == {
        "ada/01_log_derivative_trick/01_log_derivative_trick.ipynb"
    }


@pytest.mark.parametrize(
    ("files", "assignment", "message"),
    [
        ({"a_1_2_notes.ipynb": b""}, None, "cannot tell which assignment"),
        ({"a_1_2_notes.ipynb": b""}, "99_nope", "unknown assignment"),
        ({"whatever.txt": b""}, None, "no file in the zip could be matched"),
    ],
)
def test_unusable_zips_are_usage_errors(tmp_path, files, assignment, message):
    archive = make_zip(tmp_path / "x.zip", files)
    with pytest.raises(UsageError, match=message):
        unpack(archive, ASSIGNMENTS, tmp_path / "class", assignment)


def test_the_assignment_can_be_named_when_no_file_says(tmp_path):
    archive = make_zip(tmp_path / "x.zip", {"a_1_2_notes.ipynb": b"n"})
    unpack(archive, ASSIGNMENTS, tmp_path / "class", "02_variance_reduction")
    assert set(tree(tmp_path / "class")) == {"a_1/02_variance_reduction/notes.ipynb"}


def test_not_a_zip_is_a_usage_error(tmp_path):
    bogus = tmp_path / "x.zip"
    bogus.write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(UsageError, match="not a readable zip"):
        unpack(bogus, ASSIGNMENTS, tmp_path / "class")
