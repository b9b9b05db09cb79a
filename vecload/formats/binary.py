"""The native word2vec binary reader.

A record is ``token SPACE <dim little-endian float32>``, optionally followed by a newline (which, as in
gensim and word2vec.c, is stripped from the start of the next token). Token boundaries are found with
one ``bytes.find`` per record, and the tokens of a block are decoded together; the floats are never
touched in Python: each block's vectors are gathered with numpy fancy indexes over a strided view of
the bytes, straight into the table's rows where the builder has room for them (see ``TableBuilder.room``).
"""

from __future__ import annotations

from typing import BinaryIO

import numpy as np

from vecload.errors import UTF8_REPAIR, ParseError
from vecload.formats.header import BOM, check_header, cut_short_hint, parse_header
from vecload.formats.source import Source
from vecload.formats.builder import TableBuilder
from vecload.formats.table import ReadOptions, Table, Tuning

#: About how many bytes of vectors are gathered at a time (well within a core's cache).
_GATHER_BYTES = 1 << 20


def read_binary(source: Source, options: ReadOptions, tuning: Tuning = Tuning()) -> Table:
    """Read a word2vec binary source.

    Args:
        source: The stream to read.
        options: Limits, filter and policies.
        tuning: The block size.

    Returns:
        The table; its report's locations are byte offsets of records in the decompressed stream.

    Raises:
        ParseError: The file is malformed (truncated record, header count too small or too large, a token
            that is not UTF-8 under ``unicode_errors="strict"``); the message names the byte offset.
    """
    with source.open(options.max_bytes) as stream:
        return _read(stream, source, options, tuning.binary_block)


def _read(stream: BinaryIO, source: Source, options: ReadOptions, block: int) -> Table:
    name = source.name
    head = stream.read(1 << 16)
    newline = head.find(b"\n")
    if newline < 0:
        raise ParseError(name, "expected a 'count dim' header line, found no newline", line=1)
    header = parse_header(head[: newline + 1], name)
    if header.dim <= 0:
        raise ParseError(name, f"the header gives dim {header.dim}; expected at least 1", line=1)
    check_header(header, source, binary=True, limit=options.limit)
    wanted = header.count if options.limit is None else min(options.limit, header.count)
    builder = TableBuilder(name, "word2vec-binary", header.dim, options, unit="offset", expected_rows=wanted,
                           trusted=source.compression is None, exact=True)
    builder.report.bom = head.startswith(BOM)
    builder.report.header = [header.count, header.dim]
    record = 4 * header.dim
    # One buffer for the whole read: each block is read into it after the previous block's partial
    # record, which is moved to the front (fresh 16 MiB buffers per block cost page faults every time).
    rest = head[newline + 1 :]
    data = bytearray(2 * block + len(rest))
    data[: len(rest)] = rest
    size = len(rest)  # the bytes of data in use
    base = newline + 1  # stream offset of data[0]
    done = 0
    eof = False
    while done < wanted:
        if not eof:
            if len(data) - size < block:
                data.extend(bytes(block))
            with memoryview(data) as free:
                got = stream.readinto(free[size : size + block])
            eof = not got
            size += got
        found, used = _records(data, size, base, record, wanted - done, eof, name, done, header.count, builder)
        done += found
        data[: size - used] = data[used:size]
        size -= used
        base += used
        if eof and done < wanted:
            raise ParseError(
                name,
                f"the file ends inside record {done + 1} of {header.count} (truncated?)",
                offset=base,
                fix=cut_short_hint(done) if wanted == header.count and done else None,
            )
    # limit=count reads the first count records and stops, as the text reader does; more records after
    # them are only an error when the whole file was asked for
    if options.limit is None or options.limit > header.count:
        _refuse_trailing(stream, bytes(data[:size]), base, header.count, name)
    return builder.finish()


def _records(
    data: bytearray, size: int, base: int, record: int, most: int, eof: bool, name: str, done: int, count: int,
    builder: TableBuilder,
) -> tuple[int, int]:
    """Add the complete records at the start of ``data[:size]``; return how many, and the bytes they used."""
    leads: list[int] = []
    spaces: list[int] = []
    pos = 0
    find, lead, separate = data.find, leads.append, spaces.append
    last = size - 1 - record  # the last place a space may be for its record to end in the data
    for _ in range(most):
        space = find(b" ", pos, size)
        if space < 0 or space > last:
            if eof and space < 0 and not data[pos:size].strip():
                break
            if not eof:
                break
            _decode(data, leads, spaces, base, done, name, builder)  # an earlier bad token is reported first
            present = done + len(leads)
            raise ParseError(
                name,
                f"the file ends inside record {present + 1} of {count} (truncated?)",
                offset=base + size - len(data[pos:size].lstrip(b"\n")),
                fix=cut_short_hint(present) if most + done == count and present else None,
            )
        while data[pos] == 10:  # the newline word2vec.c writes after a vector (pos < space: not a space)
            pos += 1
        lead(pos)
        separate(space)
        pos = space + 1 + record
    found = len(leads)
    if leads:
        tokens = _decode(data, leads, spaces, base, done, name, builder)
        if None in tokens:  # bad_rows="skip": records whose token is not UTF-8 are dropped (and reported)
            kept = [i for i, token in enumerate(tokens) if token is not None]
            tokens = [tokens[i] for i in kept]
            leads, spaces = [leads[i] for i in kept], [spaces[i] for i in kept]
        rows = builder.room(len(spaces))  # the rows go straight into the table where they fit
        if rows is None:
            rows = np.empty((len(spaces), builder.dim), dtype=np.float32)
        _gather(data, size, record, np.asarray(spaces, dtype=np.intp) + 1, rows)
        builder.add_chunk(tokens, rows, (np.asarray(leads, dtype=np.int64) + base).tolist())
    return found, pos


def _gather(data: bytearray, size: int, record: int, starts: np.ndarray, out: np.ndarray) -> None:
    """Copy the little-endian float32 vectors of ``record`` bytes at ``starts`` into ``out`` (float32), a
    slice of about :data:`_GATHER_BYTES` at a time: each slice's gathered bytes are copied on while they
    are still in the cache, and its temporary is reused memory rather than fresh pages."""
    buf = np.frombuffer(data, dtype=np.uint8, count=size)
    view = np.ndarray(shape=(size - record + 1, record), dtype=np.uint8, buffer=buf, strides=(1, 1))
    step = max(1, _GATHER_BYTES // record)
    for at in range(0, len(starts), step):
        out[at : at + step] = view[starts[at : at + step]].view("<f4")


def _decode(
    data: bytes, leads: list[int], spaces: list[int], base: int, done: int, name: str, builder: TableBuilder
) -> list[str]:
    """The records' tokens. A token never holds a space byte, and UTF-8 decodes no other byte to a
    space, so one decode of the tokens joined by spaces, split on spaces, gives them all at once; only a
    chunk with invalid UTF-8 is decoded token by token (to name the record, or to repair and report;
    under bad_rows="skip" with strict decoding the record is reported as bad and None stands for it)."""
    raw = [data[a:b] for a, b in zip(leads, spaces)]
    try:
        return b" ".join(raw).decode("utf-8").split(" ")
    except UnicodeDecodeError:
        pass
    errors = builder.options.unicode_errors
    tokens = []
    for k, (token, lead) in enumerate(zip(raw, leads)):
        try:
            tokens.append(token.decode("utf-8"))
        except UnicodeDecodeError as exc:
            if errors == "strict":
                message = (f"the token of record {done + k + 1} is not valid UTF-8 ({exc.reason} at byte "
                           f"{base + lead + exc.start})")
                if builder.options.bad_rows == "skip":
                    builder.report.rows_read += 1
                    builder.report.note("bad_rows", message, base + lead)
                    tokens.append(None)
                    continue
                raise ParseError(name, message, offset=base + lead, fix=UTF8_REPAIR) from None
            # Like gensim: repair, then strip newlines the repair may have brought to the front.
            fixed = token.decode("utf-8", errors).lstrip("\n")
            builder.report.note("decoding_repairs", fixed, base + lead)
            tokens.append(fixed)
    return tokens


def _refuse_trailing(stream: BinaryIO, data: bytes, base: int, count: int, name: str) -> None:
    """Raise if anything but whitespace follows the records the header promises."""
    while True:
        stripped = data.lstrip()
        if stripped:
            raise ParseError(
                name,
                f"data after the {count} records the header promises; the header's count is too small",
                offset=base + len(data) - len(stripped),
            )
        base += len(data)
        data = stream.read(1 << 20)
        if not data:
            return

