"""The workbook's grader (``python -m autograde``): see DESIGN.md and the README."""

from __future__ import annotations

import importlib.abc
import sys


class _WithoutSlowOptionalImports(importlib.abc.MetaPathFinder):
    """Make optional modules that cost seconds and serve nothing here look absent.

    ``rfc3987_syntax``: jsonschema, imported by nbformat (so by nbgrader and every part of this
    tool that reads a notebook), imports it when it is installed (JupyterLab's jupyter-events
    brings it in) and it builds 38 Lark parsers at import: 3 s of CPU in every grading process
    and every command. jsonschema imports it under ``suppress(ImportError)`` only to check the
    "iri" formats, which no notebook schema uses.
    """

    SKIPPED = frozenset({"rfc3987_syntax"})

    def find_spec(self, name, path=None, target=None):
        if name in self.SKIPPED:
            raise ImportError(f"{name} is not imported by autograde (see autograde/__init__.py)")
        return None


if not any(isinstance(finder, _WithoutSlowOptionalImports) for finder in sys.meta_path):
    sys.meta_path.insert(0, _WithoutSlowOptionalImports())
