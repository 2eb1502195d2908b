"""What the instructor gets back: grades.csv, a table in the terminal, feedback pages for errors."""

from __future__ import annotations

import csv
import html
from pathlib import Path

from autograde import notebook
from autograde.datatypes import Row, Status

COLUMNS = ["student", "assignment", "score", "max_score", "status", "detail"]


def points(value: float | None) -> str:
    """12.0 -> '12', 2.5 -> '2.5', None -> '' (an ungraded row has no score)."""
    return "" if value is None else f"{value:g}"


def points_phrase(value: float) -> str:
    """1 -> '1 point', 2.5 -> '2.5 points'."""
    return f"{value:g} point{'' if value == 1 else 's'}"


def write_csv(rows: list[Row], path: Path) -> None:
    """grades.csv: one row per (student, assignment); deterministic for the same input."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(
                [
                    row.student,
                    row.assignment,
                    points(row.score),
                    points(row.max_score),
                    row.status,
                    row.detail,
                ]
            )


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


def manual_points(source_notebook: Path) -> float:
    """Points of the answers graded by hand (written questions) in a source notebook."""
    return sum(notebook.written_answers(notebook.read(source_notebook)).values())


_WHAT_TO_DO = {
    Status.MISSING: "No notebook was found for this assignment. If you did submit one, check "
    "that it was uploaded as the .ipynb file and contact your instructor.",
    Status.ERROR: "Fix the problem above, run the whole notebook top to bottom (Kernel → Restart "
    "Kernel and Run All Cells) to check it finishes, and resubmit.",
    Status.FLAGGED: "Your submission was set aside for your instructor to review.",
}


def with_banner(page: bytes, row: Row) -> bytes:
    """nbgrader's feedback page with the row's status, reason and advice on top (errors, flags)."""
    banner = (
        "<div style='font-family: sans-serif; border: 2px solid #c00; padding: 0.5em 1em; "
        "margin: 1em'>"
        f"<p><b>Status:</b> {html.escape(row.status)}; <b>score:</b> "
        f"{points(row.score) or 'none'} / {points(row.max_score)}</p>"
        f"<p><b>What happened:</b> {html.escape(row.detail)}</p>"
        f"<p><b>What to do:</b> {html.escape(_WHAT_TO_DO.get(row.status, ''))}</p></div>"
    ).encode()
    start = page.find(b"<body")
    if start < 0:
        return banner + page
    end = page.find(b">", start) + 1
    return page[:end] + banner + page[end:]


def write_error_feedback(row: Row, path: Path) -> Path:
    """A feedback page for a row nbgrader produced none for (missing or ungradable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    todo = _WHAT_TO_DO.get(row.status, "")
    path.write_text(
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(row.assignment)}: {html.escape(row.status)}</title></head>\n"
        "<body style='font-family: sans-serif; max-width: 50em; margin: 2em auto'>\n"
        f"<h1>{html.escape(row.assignment)}</h1>\n"
        f"<p><b>Status:</b> {html.escape(row.status)}; "
        f"<b>score:</b> {points(row.score) or 'none'} / {points(row.max_score)}</p>\n"
        f"<p><b>What went wrong:</b> {html.escape(row.detail)}</p>\n"
        f"<p><b>What to do:</b> {html.escape(todo)}</p>\n</body></html>\n",
        encoding="utf-8",
    )
    return path
