"""Check your notebook before you submit it: run it top to bottom, as the grader will, and say
which functions pass their visible tests.

From a terminal (JupyterLab)::

    python -m utils.validate notebooks/01_log_derivative_trick/01_log_derivative_trick.ipynb

From a cell of the notebook itself (JupyterLab or Colab; save the notebook first)::

    utils.validate.this_notebook()

The notebook runs in a fresh kernel, with the experiments shrunk as under grading (so it takes
seconds, not minutes), from the first cell to the last. Each function whose visible tests pass
gets a line ``passed``; each other one the test's message. The hidden tests run only when your
instructor grades: passing here is necessary, not sufficient. The exit status is 0 when every
function passed, 1 otherwise, 2 when the notebook could not be run at all.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Result", "this_notebook", "validate"]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CELL_TIMEOUT = 120  # seconds; a cell that runs longer is reported as stuck


@dataclass(frozen=True)
class Result:
    """The visible tests of one graded function."""

    function: str
    passed: bool
    message: str = ""  # why it failed: the test's own message


def validate(path: str | Path, *, timeout: int = CELL_TIMEOUT) -> list[Result]:
    """Run the notebook at ``path`` in a fresh kernel; one result per test cell, in order."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    environment_before = os.environ.get("NBGRADER_EXECUTION")
    os.environ["NBGRADER_EXECUTION"] = "validate"  # the kernel inherits it: experiments shrink
    try:
        client = NotebookClient(
            notebook,
            timeout=timeout,
            allow_errors=True,  # a failing test must not stop the others
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent.resolve())}},
        )
        try:
            client.execute()
        except CellTimeoutError:
            pass  # the stuck cell shows its error below; the cells after it did not run
        except DeadKernelError as error:
            raise RuntimeError(f"the notebook's Python process died ({error})") from None
    finally:
        if environment_before is None:
            os.environ.pop("NBGRADER_EXECUTION", None)
        else:
            os.environ["NBGRADER_EXECUTION"] = environment_before
    results = []
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not (meta.get("grade") and not meta.get("solution")):
            continue
        function = str(meta.get("grade_id", "")).removeprefix("test_")
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if cell.get("execution_count") is None and not errors:
            results.append(Result(function, False, "did not run (a cell above it was stuck)"))
        elif errors:
            error = errors[0]
            message = _ANSI.sub("", f"{error.get('ename')}: {error.get('evalue')}")
            results.append(Result(function, False, message))
        else:
            results.append(Result(function, True))
    return results


def report(results: list[Result]) -> str:
    """The results as lines for a person: a mark, the function, and why it failed."""
    if not results:
        return "no test cells found: is this one of the workbook's notebooks?"
    width = max(len(r.function) for r in results)
    lines = [
        f"{'passed' if r.passed else 'FAILED'}  {r.function:<{width}}  {r.message}".rstrip()
        for r in results
    ]
    passed = sum(r.passed for r in results)
    lines.append(
        f"{passed} of {len(results)} functions pass their visible tests"
        + ("" if passed == len(results) else "; fix the ones marked FAILED and run this again")
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) != 1 or arguments[0].startswith("-"):
        print("usage: python -m utils.validate NOTEBOOK.ipynb", file=sys.stderr)
        return 2
    path = Path(arguments[0])
    if not path.is_file():
        print(f"validate: error: {path} does not exist", file=sys.stderr)
        return 2
    try:
        results = validate(path)
    except ModuleNotFoundError as error:
        print(
            f"validate: error: this needs Jupyter's nbclient and ipykernel (no module named "
            f"{error.name!r}); in a plain Python: pip install nbclient ipykernel",
            file=sys.stderr,
        )
        return 2
    except (RuntimeError, ValueError, json.JSONDecodeError) as error:
        print(f"validate: error: {path} could not be run: {error}", file=sys.stderr)
        return 2
    print(report(results))
    return 0 if results and all(r.passed for r in results) else 1


def this_notebook() -> None:
    """Validate the notebook this is called from (save it first), and print the results.

    JupyterLab tells the kernel its notebook's path; on Colab the notebook comes from Colab.
    """
    path = os.environ.get("JPY_SESSION_NAME", "")
    with tempfile.TemporaryDirectory() as scratch:
        if "google.colab" in sys.modules:
            from google.colab import _message  # Colab's own channel to the notebook

            notebook = _message.blocking_request("get_ipynb", timeout_sec=60)["ipynb"]
            path = str(Path(scratch) / "notebook.ipynb")
            Path(path).write_text(json.dumps(notebook), encoding="utf-8")
        if not path or not Path(path).is_file():
            print(
                "Cannot tell which notebook this is. From a terminal, run: "
                "python -m utils.validate PATH/TO/NOTEBOOK.ipynb"
            )
            return
        print(f"Running {Path(path).name} top to bottom in a fresh kernel (from its saved copy)...")
        results = validate(path)
    print(report(results))


if __name__ == "__main__":
    sys.exit(main())
