"""Remember what was graded, so that re-running `grade` only grades what changed.

An outcome is stored under a key made of everything it depends on: the submitted notebook's
bytes, the instructor's source of its assignment, the limits, and the grader itself (the source
of the ``autograde`` and ``utils`` packages, and nbgrader's version). Change any of them and the
submission is graded again; change nothing and the cached outcome is used, so the same input
gives the same grades.csv. An interrupted run loses only the submissions that were in flight.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.util
import json
from importlib import metadata
from pathlib import Path

from autograde.datatypes import CellScore, Limits, Outcome


@functools.cache
def grader_version() -> str:
    """A digest of everything in the grader that can change an outcome for the same input."""
    digest = hashlib.sha256(metadata.version("nbgrader").encode())
    for package in ("autograde", "utils"):
        # Found, not imported: importing utils would load torch and matplotlib into the main
        # process (4 s) only to read its files.
        root = Path(importlib.util.find_spec(package).origin).parent
        for path in sorted(root.rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def key(notebook: Path, source_notebook: Path, limits: Limits) -> str:
    digest = hashlib.sha256()
    for part in (
        grader_version().encode(),
        source_notebook.read_bytes(),
        repr(dataclasses.astuple(limits)).encode(),
        notebook.read_bytes(),
    ):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


class Cache:
    """Outcomes on disk: ``<folder>/<key>.json`` and, when there is one, the graded notebook
    ``<key>.ipynb`` (the feedback page is made from it, again whenever grades change)."""

    def __init__(self, folder: Path):
        self.folder = folder

    def get(self, entry: str) -> Outcome | None:
        path = self.folder / f"{entry}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            notebook = self.folder / f"{entry}.ipynb"
            return Outcome(
                cells=[CellScore(**cell) for cell in data["cells"]],
                executed=notebook.read_bytes() if notebook.exists() else b"",
                error=data["error"],
                flags=data["flags"],
                notes=data["notes"],
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent or unreadable: grade it again

    def executed(self, entry: str) -> dict | None:
        """The graded notebook of an entry, or None."""
        try:
            return json.loads((self.folder / f"{entry}.ipynb").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, entry: str, outcome: Outcome) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        data = {
            "cells": [dataclasses.asdict(cell) for cell in outcome.cells],
            "error": outcome.error,
            "flags": outcome.flags,
            "notes": outcome.notes,
        }
        if outcome.executed:
            (self.folder / f"{entry}.ipynb").write_bytes(outcome.executed)
        # The JSON last: an entry counts only once it is complete.
        temporary = self.folder / f"{entry}.json.tmp"
        temporary.write_text(json.dumps(data), encoding="utf-8")
        temporary.replace(self.folder / f"{entry}.json")
