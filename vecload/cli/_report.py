"""A conversion's parse report and data problems as lines of output."""

from __future__ import annotations

from typing import Any

from vecload.cli._shell import _out

def _bound(max_bytes: int | None) -> dict[str, int]:
    """``max_bytes`` as a read option, only when given (so default reads record no such option)."""
    return {} if max_bytes is None else {"max_bytes": max_bytes}


def _report_line(meta: dict[str, Any]) -> str:
    from vecload.formats.table import ParseReport

    report = ParseReport(**meta.get("report", {}))
    return report.summary(_unit(meta))


def _bad_rows_option(bad_rows: str) -> dict[str, str]:
    """Pass bad_rows only when it is not the default, so converted files record what was asked."""
    return {} if bad_rows == "error" else {"bad_rows": bad_rows}


def _unit(meta: dict[str, Any]) -> str:
    return "byte" if meta.get("format") == "word2vec-binary" else "line"


def _problems(meta: dict[str, Any]) -> list[str]:
    """One line per data problem of a conversion: the parse report's, then repeated task tokens."""
    from vecload.formats.table import ParseReport

    lines = ParseReport(**meta.get("report", {})).problems(_unit(meta))
    repeats = meta.get("align", {}).get("coverage", {}).get("vocab_duplicates", 0)
    if repeats:
        lines.append(f"{repeats} repeated task token{'s' if repeats != 1 else ''} (dropped, the first kept)")
    return lines


def _echo_problems(meta: dict[str, Any]) -> None:
    """Say every data problem on stderr, one line each, even with --quiet: rows were dropped, kept with
    NaN/Inf, repaired or skipped, and a user must not learn that only from a summary line."""
    for line in _problems(meta):
        _say_problem(line)


def _say_problem(line: str) -> None:
    """One data problem on stderr (``skipped N bad rows ...`` says itself; the others are warnings)."""
    _out(line if line.startswith("skipped ") else f"warning: {line}", err=True)


