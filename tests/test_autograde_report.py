"""What the instructor and the students read: the CSV, the table, the feedback banners."""

from __future__ import annotations

import csv

from autograde.datatypes import Row
from autograde.report import points, table, with_banner, write_csv, write_error_feedback


def rows() -> list[Row]:
    return [
        Row("ada", "01_x", 13.0, 13.0, "graded", "all tests passed"),
        Row("bob", "01_x", None, 13.0, "error", 'broken JSON, "quoted", <b>'),
        Row("eve", "01_x", 2.5, 13.0, "flagged", "flagged: changed: math.isclose"),
    ]


def test_csv_has_the_contract_columns_and_round_trips(tmp_path):
    write_csv(rows(), tmp_path / "grades.csv")
    with (tmp_path / "grades.csv").open(newline="") as file:
        read = list(csv.DictReader(file))
    assert list(read[0]) == ["student", "assignment", "score", "max_score", "status", "detail"]
    assert [(r["student"], r["score"], r["status"]) for r in read] == [
        ("ada", "13", "graded"),
        ("bob", "", "error"),
        ("eve", "2.5", "flagged"),
    ]
    assert read[1]["detail"] == 'broken JSON, "quoted", <b>'


def test_points_and_table_are_readable():
    assert [points(13.0), points(2.5), points(None)] == ["13", "2.5", ""]
    lines = table(rows()).splitlines()
    assert lines[0].split() == ["student", "assignment", "score", "status", "detail"]
    assert lines[2].split()[:4] == ["bob", "01_x", "-/13", "error"]


def test_error_pages_and_banners_say_what_happened_and_what_to_do(tmp_path):
    bob = rows()[1]
    page = write_error_feedback(bob, tmp_path / "bob.html").read_text()
    assert "&lt;b&gt;" in page and "What to do" in page and "resubmit" in page
    bannered = with_banner(b"<html><body class='x'><p>nbgrader</p></body></html>", rows()[2])
    assert bannered.index(b"Status:</b> flagged") < bannered.index(b"<p>nbgrader</p>")
    assert b"set aside for your instructor" in bannered
