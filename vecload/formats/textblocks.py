"""The bytes of a text vector file as padded blocks of whole lines, and the decoding of their tokens."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import numpy as np

from vecload.errors import UTF8_REPAIR, ParseError
from vecload.formats.builder import TableBuilder
from vecload.formats.header import MAX_LINE_BYTES
from vecload.formats.numbers import PAD
from vecload.formats.source import Source

_PADDING = b"0" * PAD


def blocks(stream: BinaryIO, name: str, size: int) -> Iterator[tuple[bytes, bool]]:
    """Blocks of whole lines (each ending in a newline), each after :data:`PAD` bytes of padding; the flag
    marks the last block.

    Each block is built by one join of the padding, the previous read's partial line and this read's
    complete lines, so its bytes are copied once. Damaged compressed streams raise ParseError from the
    stream itself (see Source.open). A line longer than MAX_LINE_BYTES is refused before it is held
    whole: it means binary data read as text.
    """
    rest = b""
    pending: bytes | None = None
    consumed = 0
    while True:
        data = stream.read(size)
        consumed += len(data)
        if len(rest) > MAX_LINE_BYTES:
            raise ParseError(
                name,
                f"a line longer than {MAX_LINE_BYTES >> 20} MiB: this is not a text vector file "
                f"(binary data read as text?)",
                offset=consumed - len(data) - len(rest),
            )
        if not data:
            tail = b"".join((_PADDING, rest, b"\n")) if rest else None
            if pending is not None:
                yield pending, tail is None
            if tail is not None:
                yield tail, True
            return
        cut = data.rfind(b"\n") + 1
        if not cut:
            rest += data
            continue
        block = b"".join((_PADDING, rest, memoryview(data)[:cut]))
        rest = data[cut:]
        del data  # the next read must not find this one still alive
        if pending is not None:
            yield pending, False
        pending = block


def undecodable(token: bytes) -> str | None:
    """The message for a token that is not UTF-8, or None."""
    try:
        token.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"the token is not valid UTF-8 ({exc.reason} at byte {exc.start})"
    return None


def decode_tokens(
    raw: list[bytes], where: np.ndarray, errors: str, name: str, builder: TableBuilder, skip: bool = False
) -> list[str]:
    """Decode tokens as UTF-8; strict raises with the line (or, with ``skip``, reports the row as bad and
    gives None in its place), replace/ignore repair and report."""
    try:
        return b"\n".join(raw).decode("utf-8").split("\n")
    except UnicodeDecodeError:
        pass
    tokens: list = []
    for token, line in zip(raw, where.tolist()):
        try:
            tokens.append(token.decode("utf-8"))
        except UnicodeDecodeError:
            if errors == "strict":
                message = undecodable(token)
                if not skip:
                    raise ParseError(name, message, line=line, fix=UTF8_REPAIR) from None
                builder.report.rows_read += 1
                builder.report.note("bad_rows", message, line)
                tokens.append(None)
                continue
            fixed = token.decode("utf-8", errors)
            builder.report.note("decoding_repairs", fixed, line)
            tokens.append(fixed)
    return tokens


def progress_bar(source: Source):
    from tqdm import tqdm

    return tqdm(total=source.uncompressed_size(), unit="B", unit_scale=True, desc=source.stem)
