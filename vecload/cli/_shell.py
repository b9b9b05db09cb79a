"""The ``vecload`` group and the conventions every command follows: library errors as one-paragraph
messages in the command line's terms, output that survives a closed pipe, the library's warnings on stderr.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import click

from vecload._version import __version__
from vecload.errors import Option, VecloadError

#: The one table of wording that differs between the library and the command line: library names (as
#: errors carry them) -> their command-line spelling, ``{}`` standing for the value.
_CLI_TERMS: dict[str, str] = {
    "force": "--force",
    "unicode_errors": "--unicode-errors {}",
    "limit": "--limit {}",
    "format": "--format {}",
    "engine": "--engine {}",
    "member": "--member {}",
    "duplicates": "--duplicates {}",
    "nonfinite": "--nonfinite {}",
    "bad_rows": "--bad-rows {}",
    "max_bytes": "--max-bytes {}",
    "vocab_duplicates": "--vocab-duplicates {}",
    "layout": "--vocab-layout {}",
    "oov": "--oov {}",
    "oov_fallback": "--oov-fallback {}",
    "vecload.load": "vecload info",
}

#: What --strict sets: every data problem becomes an error.
_STRICT = {"unicode_errors": "strict", "duplicates": "error", "nonfinite": "error", "bad_rows": "error",
           "vocab_duplicates": "error"}


def _cli_spelling(option: Option) -> str:
    """An option as this command line spells it (``--unicode-errors replace``); unknown names as in Python."""
    term = _CLI_TERMS.get(option.name)
    if term is None:
        return option.python()
    return term.format(option.value) if "{}" in term else term


def _errors(writes: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Turn library errors into one-paragraph messages (exit 1) and Ctrl-C into a short message (exit 130).

    Args:
        writes: The command writes files, so an interruption says whether they were written.

    The library's log messages (a stale temporary removed, a write interrupted by a signal) are printed on
    stderr while the command runs.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _library_messages():
                try:
                    return func(*args, **kwargs)
                except VecloadError as exc:
                    raise click.ClickException(exc.render(_cli_spelling)) from exc
                except OSError as exc:  # a missing or unreadable file, a name too long
                    where = f"{exc.filename}: " if exc.filename else ""
                    raise click.ClickException(f"{where}{exc.strerror or exc}") from exc
                except KeyboardInterrupt as exc:
                    written = getattr(exc, "written", None)  # set when the output was already complete
                    if written:
                        message = f"interrupted after {written} was written completely"
                    else:
                        message = "interrupted; nothing was written" if writes else "interrupted"
                    _out(message, err=True)
                    sys.exit(130)

        return wrapper

    return decorate


def _out(text: str = "", err: bool = False) -> None:
    """Print a line on stdout (or stderr); when the reader has gone (``| head -1``), stop printing quietly.

    The work a command does never depends on its output, so a closed pipe ends the output, not the
    command: the rest of its output goes to /dev/null and its exit status is the one the work deserves.
    """
    try:
        click.echo(text, err=err)
    except BrokenPipeError:
        _discard(sys.stderr if err else sys.stdout)


def _discard(stream: Any) -> None:
    """Point a standard stream at /dev/null, so that nothing (not even the flush at exit) writes to the
    closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (tests' CliRunner): nothing to redirect
        pass


class _Echo(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        _out(record.getMessage(), err=True)


class _library_messages:
    """Print vecload's warnings on stderr for the duration of one command (the CLI owns its process)."""

    def __enter__(self) -> None:
        self.logger = logging.getLogger("vecload")
        self.handler = _Echo(logging.WARNING)
        self.logger.addHandler(self.handler)

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self.handler)


def _progress(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


def _strict(options: dict[str, Any], strict: bool) -> dict[str, Any]:
    """The read options with --strict applied: every data problem an error; a lenient flag beside it is a
    usage error (exit 2)."""
    if not strict:
        return options
    context = click.get_current_context()
    for name, value in _STRICT.items():
        if name not in options:
            continue
        given = context.get_parameter_source(name) not in (None, click.core.ParameterSource.DEFAULT)
        if given and options[name] != value:
            raise click.UsageError(f"--strict refuses every data problem; it cannot go with "
                                   f"{_CLI_TERMS[name].format(options[name])}")
        options[name] = value
    return options


def examples(*lines: str) -> str:
    """A help epilog of examples, kept line by line (click rewraps paragraphs without the \\b marker)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


_HELP = {"help_option_names": ["-h", "--help"]}


@click.group(context_settings=_HELP, epilog=examples(
    "vecload convert glove.6B.50d.txt            # -> glove.6B.50d.pth",
    "vecload info glove.6B.50d.txt.gz            # a quick look: format, count, dim",
    "vecload check-frozen                        # which ways of freezing hold",
))
@click.version_option(__version__, prog_name="vecload")
def main() -> None:
    """Pretrained word vectors (GloVe, word2vec, fastText .vec and .bin) as PyTorch embeddings.

    Exit status: 0 done, 1 bad data (or a file problem), 2 bad usage, 130 interrupted.
    """


def run() -> None:
    """The ``vecload`` command: :func:`main`, then Ctrl-C ignored while the interpreter shuts down.

    By then the work is done (or refused, and said so); a Ctrl-C landing in an exit handler would only
    print a traceback over a finished command. Only the command does this, never the library.
    """
    try:
        main()
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


