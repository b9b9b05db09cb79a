"""``vecload info``."""

from __future__ import annotations

import json
from typing import Any

import click

from vecload.cli._options import _read_options
from vecload.cli._report import _bad_rows_option, _say_problem
from vecload.cli._shell import _errors, _out, _progress, _strict, examples, main

@main.command(epilog=examples(
    "vecload info glove.6B.50d.txt.gz          # quick look: header and first rows",
    "vecload info glove.6B.50d.txt.gz --full   # read every row: count, sha256, norms, report",
    "vecload info glove.6B.50d.pth --json      # a converted file: provenance and fingerprint",
))
@click.argument("path")
@click.option("--full", is_flag=True, help="For a source, read every row (count, sha256, norms, parse report), "
                                           "with a progress bar; without it, only the header and first rows.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object, for scripts.")
@click.option("--verify", is_flag=True, help="For a converted file, hash every byte of the tensor.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar (data problems are still said on stderr).")
@_read_options
@_errors()
def info(path: str, full: bool, as_json: bool, verify: bool, quiet: bool, fmt: str | None, engine: str | None,
         member: str | None, limit: int | None, strict: bool, max_bytes: int | None, **options: Any) -> None:
    """Describe a source or converted file.

    For a source: by default a quick look (format, compression, file size, the header's count and dim,
    the first tokens) that reads only what it needs; --full reads every row (--limit N, the first N). For
    a converted file: its provenance, fingerprint and norms, from its records."""
    from vecload.describe import describe, is_converted, peek

    options = _strict(options, strict)
    read = {"format": fmt, "engine": engine, "member": member, "limit": limit, "max_bytes": max_bytes,
            "unicode_errors": options["unicode_errors"], "duplicates": options["duplicates"],
            "nonfinite": options["nonfinite"], **_bad_rows_option(options["bad_rows"])}
    if full or verify or limit is not None or (member is None and is_converted(path)):
        details = describe(path, verify=verify, progress=_progress(quiet) or None, **read)
    else:
        details = peek(path, **read)
    for line in details.get("problems") or []:
        _say_problem(line)
    if as_json:
        _out(json.dumps(details, ensure_ascii=False, indent=2))
        return
    _echo_details(details)


def _echo_details(details: dict[str, Any]) -> None:
    """``key: value`` lines; nested dicts indented; absent (None) values left out."""
    for key, value in details.items():
        if key == "count" and value is None:
            value = "not in a header (GloVe has none); --full counts the rows"
        if value is None or key == "problems":
            continue
        if key == "look" and "whole file" not in value:
            value = f"{value} (--full reads every row)"
        if isinstance(value, dict):
            _out(f"{key}:")
            for sub, subvalue in value.items():
                if subvalue is not None:
                    _out(f"  {sub}: {subvalue}")
        else:
            _out(f"{key}: {value}")


