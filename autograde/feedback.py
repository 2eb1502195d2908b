"""The feedback page a student gets for one graded notebook: a self-contained HTML file.

It opens with what the student most needs: the status (and, for a row that could not be graded
fully, what happened and what to do), the score of every test, the written answers' points
("not graded yet" until the instructor has graded them) and the total, the same numbers as in
grades.csv. Then the notebook as graded, cell by cell:

- markdown, with its math as MathML (rendered by the browser itself: no network, no script);
- the student's code and its outputs (text, and plots as images);
- each test cell as a result line: its name, points, passed or failed, and the failure message.
  The test code is not shown, so hidden tests stay hidden (``show_test_code`` opts in), and the
  traceback keeps only the frames in the student's own cells, so the hint is the first thing
  read and nothing about the tests' insides leaks through it;
- each written answer with its points and the instructor's comment.

Everything the notebook holds is escaped: a submission cannot put HTML or scripts in the page.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Iterable

from autograde import notebook as notebook_format
from autograde.datatypes import Row, Status
from autograde.report import points

_BASE64 = re.compile(r"[A-Za-z0-9+/=]+")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Display math first ($$...$$), then inline ($...$, not \$ and not $$).
_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?!\$)(.+?)(?<!\\)\$", re.S)
# "Cell In[12], line 3, in reinforce_loss(...)": a frame in the notebook's cell number 12.
_CELL_FRAME = re.compile(r"Cell In\s*\[(\d+)\]")

_WHAT_TO_DO = {
    Status.MISSING: "No notebook was found for this assignment. If you did submit one, check "
    "that it was uploaded as the .ipynb file and contact your instructor.",
    Status.ERROR: "Fix the problem above, run the whole notebook top to bottom (Kernel → "
    "Restart Kernel and Run All Cells) to check that it finishes, and submit it again.",
    Status.FLAGGED: "Your submission was set aside for your instructor to review.",
}

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 58em; margin: 2em auto; padding: 0 1em;
       line-height: 1.45; color: #1b1b1b; }
h1 { font-size: 1.5em; }
table.summary { border-collapse: collapse; margin: 0.5em 0 1.5em; }
table.summary td, table.summary th { border-bottom: 1px solid #ddd; padding: 0.25em 0.8em;
       text-align: left; }
.banner { border: 2px solid #c00; padding: 0.5em 1em; margin: 1em 0; }
.cell { margin: 1em 0; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f6f6; padding: 0.5em;
      margin: 0.3em 0; font-size: 0.9em; }
pre.output { background: #fff; border-left: 3px solid #ddd; }
pre.error { background: #fff0f0; border-left: 3px solid #c00; }
.test { padding: 0.4em 0.8em; margin: 0.6em 0; border-radius: 4px; }
.test.passed { background: #eaf6ea; }
.test.failed { background: #fdecec; }
.written { border-left: 4px solid #36c; padding: 0.2em 1em; margin: 0.8em 0; }
.grade { font-weight: bold; }
img { max-width: 100%; }
"""


def render(
    executed: dict | None,
    row: Row,
    *,
    show_test_code: bool = False,
    max_bytes: int = 5 * 2**20,
) -> bytes:
    """The feedback page of ``row``; ``executed`` is the graded notebook (None: no notebook)."""
    header = _header(row)
    cells = [] if executed is None else _cells(executed, row, show_test_code, budget=max_bytes)
    page = _page(row, [header, *cells])
    if len(page) > max_bytes:  # the notebook itself is too large to show: the grades still are
        note = (
            "<p><i>(The notebook is too large to show here; the grades above are complete.)</i></p>"
        )
        page = _page(row, [header, note])
    return page


def _page(row: Row, parts: list[str]) -> bytes:
    title = f"{row.assignment}: {row.student}"
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n<body>\n"
        + "\n".join(parts)
        + "\n</body></html>\n"
    ).encode("utf-8")


# --- the summary at the top -------------------------------------------------------------------


def _header(row: Row) -> str:
    lines = [f"<h1>{html.escape(row.assignment)}</h1>"]
    lines.append(f"<p>Student: <b>{html.escape(row.student)}</b> · status: <b>{row.status}</b></p>")
    if row.status != Status.GRADED:
        lines.append(
            "<div class='banner'>"
            f"<p><b>What happened:</b> {html.escape(row.detail or str(row.status))}</p>"
            f"<p><b>What to do:</b> {html.escape(_WHAT_TO_DO.get(row.status, ''))}</p></div>"
        )
    summary = ["<table class='summary'><tr><th>part</th><th>points</th><th></th></tr>"]
    for grade_id, cell in sorted(row.cells.items()):
        verdict = "passed" if cell.score >= cell.max_score else "failed"
        summary.append(
            f"<tr><td>{html.escape(grade_id)}</td>"
            f"<td>{points(cell.score)} / {points(cell.max_score)}</td><td>{verdict}</td></tr>"
        )
    summary.append(
        f"<tr><td><b>autograded tests</b></td><td class='grade'>{points(row.score) or '–'} / "
        f"{points(row.max_score)}</td><td></td></tr>"
    )
    for grade_id, maximum in sorted(row.written_max.items()):
        grade = row.written.get(grade_id)
        shown = f"{points(grade.points)} / {points(maximum)}" if grade else "not graded yet"
        summary.append(
            f"<tr><td>{html.escape(grade_id)} (written)</td><td>{shown}</td><td></td></tr>"
        )
    if row.written_max:
        total = row.total
        shown = (
            f"{points(total)} / {points(row.total_max)}"
            if total is not None
            else (f"– / {points(row.total_max)} (written answers not graded yet)")
        )
        summary.append(f"<tr><td><b>total</b></td><td class='grade'>{shown}</td><td></td></tr>")
    summary.append("</table>")
    return "\n".join(lines + summary)


# --- the notebook ------------------------------------------------------------------------------


def _cells(executed: dict, row: Row, show_test_code: bool, *, budget: int) -> list[str]:
    counts = {
        cell.get("execution_count"): notebook_format.is_test(cell)
        for cell in executed.get("cells", [])
        if cell.get("cell_type") == "code"
    }
    test_cells = {count for count, is_test in counts.items() if is_test and count is not None}
    parts: list[str] = []
    # Plots may take half the page, the outputs' text a third; the notebook's own text the rest.
    left = _Budget(images=budget // 2, text=budget // 3)
    for cell in executed.get("cells", []):
        meta = notebook_format.nbgrader(cell)
        source = notebook_format.source(cell)
        if cell.get("cell_type") == "markdown":
            if notebook_format.is_written_answer(cell):
                parts.append(_written(meta.get("grade_id", ""), source, row))
            else:
                parts.append(f"<div class='cell'>{markdown(source)}</div>")
        elif cell.get("cell_type") == "code":
            if notebook_format.is_test(cell):
                parts.append(_test(cell, row, test_cells, show_code=show_test_code))
                continue
            html_outputs = _outputs(cell.get("outputs", []), test_cells, left)
            parts.append(f"<div class='cell'><pre>{html.escape(source)}</pre>{html_outputs}</div>")
    return parts


def _test(cell: dict, row: Row, test_cells: set[int], *, show_code: bool) -> str:
    grade_id = notebook_format.nbgrader(cell).get("grade_id", "")
    result = row.cells.get(grade_id)
    passed = result is not None and result.score >= result.max_score
    score = f"{points(result.score)} / {points(result.max_score)}" if result else "–"
    parts = [
        f"<div class='test {'passed' if passed else 'failed'}'><b>{html.escape(grade_id)}</b>: "
        f"{score} points, {'passed' if passed else 'failed'}"
    ]
    if show_code:
        parts.append(f"<pre>{html.escape(notebook_format.source(cell))}</pre>")
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            parts.append(f"<pre class='error'>{html.escape(error_text(output, test_cells))}</pre>")
        elif output.get("output_type") == "stream" and show_code:
            text = _text(output.get("text", ""))[:MAX_OUTPUT]
            parts.append(f"<pre class='output'>{html.escape(text)}</pre>")
    parts.append("</div>")
    return "".join(parts)


def _written(grade_id: str, source: str, row: Row) -> str:
    grade = row.written.get(grade_id)
    maximum = row.written_max.get(grade_id, 0.0)
    if grade is None:
        verdict = f"not graded yet (out of {points(maximum)})"
    else:
        verdict = f"{points(grade.points)} / {points(maximum)}"
    comment = (
        f"<p><b>Comment:</b> {html.escape(grade.comment)}</p>" if grade and grade.comment else ""
    )
    return (
        f"<div class='written'><p class='grade'>Your answer ({html.escape(grade_id)}): "
        f"{verdict}</p>{markdown(source)}{comment}</div>"
    )


class _Budget:
    """What is left of the page's room for plots and for printed text, in characters."""

    def __init__(self, *, images: int, text: int):
        self.images = images
        self.text = text

    def take_text(self, text: str) -> str:
        """``text``, cut to what is left (at most ``MAX_OUTPUT`` characters of one output)."""
        keep = max(0, min(len(text), MAX_OUTPUT, self.text))
        self.text -= keep
        if keep == len(text):
            return text
        return text[:keep] + f"\n... [{len(text) - keep:,} more characters not shown]"


MAX_OUTPUT = 20_000  # characters shown of one printed output


def _outputs(outputs: Iterable[dict], test_cells: set[int], left: _Budget) -> str:
    parts = []
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            text = left.take_text(_text(output.get("text", "")))
            parts.append(f"<pre class='output'>{html.escape(text)}</pre>")
        elif kind == "error":
            parts.append(f"<pre class='error'>{html.escape(error_text(output, test_cells))}</pre>")
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            image = data.get("image/png")
            encoded = _text(image).replace("\n", "") if isinstance(image, str | list) else ""
            if encoded and _BASE64.fullmatch(encoded):  # nothing else may enter the attribute
                if len(encoded) <= left.images:
                    left.images -= len(encoded)
                    parts.append(f"<img alt='plot' src='data:image/png;base64,{encoded}'>")
                else:
                    parts.append("<p><i>(a plot left out: the page is at its size limit)</i></p>")
            elif "text/plain" in data:
                text = left.take_text(_text(data["text/plain"]))
                parts.append(f"<pre class='output'>{html.escape(text)}</pre>")
    return "".join(parts)


def error_text(output: dict, test_cells: set[int] = frozenset()) -> str:
    """An error as the student should read it: the frames in their own cells, then the message.

    Frames in test cells (whose code would show hidden tests), in the grader's helpers
    (``utils/checks.py``) and in libraries are left out; the message, which carries the test's
    hint, comes last as in any Python traceback.
    """
    frames = []
    for frame in output.get("traceback", [])[1:-1]:
        clean = _ANSI.sub("", frame)
        match = _CELL_FRAME.search(clean)
        if match and int(match.group(1)) not in test_cells:
            frames.append(clean.rstrip())
    message = f"{output.get('ename', 'Error')}: {_ANSI.sub('', output.get('evalue', ''))}"
    return "\n\n".join([*frames, message])[-MAX_OUTPUT:]


def _text(value) -> str:
    return value if isinstance(value, str) else "".join(value)


# --- markdown with math --------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def markdown(text: str) -> str:
    """Markdown to HTML, raw HTML escaped, ``$...$`` and ``$$...$$`` as MathML.

    Cached: a class's notebooks share their markdown cells (the assignment's text), and turning
    their formulas into MathML was most of the main process's work per notebook.
    """
    import mistune

    formulas: list[str] = []

    def keep(match: re.Match) -> str:
        display = match.group(1) is not None
        formulas.append(_mathml(match.group(1) if display else match.group(2), display))
        return f"MATHPLACEHOLDER{len(formulas) - 1}X"

    rendered = mistune.create_markdown(escape=True, plugins=["table", "strikethrough"])(
        _MATH.sub(keep, text)
    )
    return re.sub(r"MATHPLACEHOLDER(\d+)X", lambda m: formulas[int(m.group(1))], rendered)


def _mathml(latex: str, display: bool) -> str:
    from latex2mathml.converter import convert

    try:
        return convert(latex.strip(), display="block" if display else "inline")
    except Exception:  # noqa: BLE001 - an unusual formula is shown as its source
        delimiter = "$$" if display else "$"
        return f"<code>{html.escape(delimiter + latex + delimiter)}</code>"
