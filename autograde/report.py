"""How grades read: points as text, and the grade table printed in the terminal."""

from __future__ import annotations

from autograde.datatypes import Row


def points(value: float | None) -> str:
    """12.0 -> '12', 2.5 -> '2.5', None -> '' (an ungraded row has no score)."""
    return "" if value is None else f"{value:g}"


def points_phrase(value: float) -> str:
    """1 -> '1 point', 2.5 -> '2.5 points'."""
    return f"{value:g} point{'' if value == 1 else 's'}"


def table(rows: list[Row], *, detail_width: int = 70) -> str:
    """The grade sheet as aligned text for the terminal."""
    lines = [["student", "assignment", "score", "status", "detail"]]
    for row in rows:
        detail = (
            row.detail if len(row.detail) <= detail_width else row.detail[: detail_width - 1] + "…"
        )
        lines.append(
            [
                row.student,
                row.assignment,
                f"{points(row.score) or '-'}/{points(row.max_score)}",
                row.status,
                detail,
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False))
        + "  "
        + line[-1]
        for line in lines
    ).rstrip()
