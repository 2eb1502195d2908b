"""What the instructor reads in the terminal: points as text, and the grade table."""

from __future__ import annotations

from autograde.datatypes import Row, Status
from autograde.report import points, points_phrase, table


def rows() -> list[Row]:
    return [
        Row("ada", "01_x", 13.0, 13.0, Status.GRADED, "all tests passed"),
        Row("bob", "01_x", None, 13.0, Status.ERROR, 'broken JSON, "quoted", <b>'),
        Row("eve", "01_x", 2.5, 13.0, Status.FLAGGED, "changed: math.isclose"),
    ]


def test_points_and_table_are_readable():
    assert [points(13.0), points(2.5), points(None)] == ["13", "2.5", ""]
    assert [points_phrase(1), points_phrase(2.5)] == ["1 point", "2.5 points"]
    lines = table(rows()).splitlines()
    assert lines[0].split() == ["student", "assignment", "score", "status", "detail"]
    assert lines[2].split()[:4] == ["bob", "01_x", "-/13", "error"]
    assert lines[3].split()[:4] == ["eve", "01_x", "2.5/13", "flagged"]
