"""The native word2vec binary reader.

A record is ``token SPACE <dim little-endian float32>``, optionally followed by a newline (which, as in
gensim and word2vec.c, is stripped from the start of the next token). Nothing is done in Python per
record: one regex pass over a block cuts out its tokens (``findall``, in C), the records' offsets follow
from the tokens' lengths (the vector part is a fixed ``4 * dim`` bytes), and the tokens are decoded
together. The floats are never touched in Python: each block's vectors are gathered with numpy fancy
indexes over a strided view of the bytes, straight into the table's rows where the builder has room for
them (see ``TableBuilder.room``). For the 400k x 300 benchmark file on this project's 2-core machine,
scripts/profile_read.py's "separators" and "tokens" stages (the gather included) took 0.24 + 0.07 s with
one ``bytes.find`` per record, 0.16 + 0.03 s this way.
"""

from __future__ import annotations

import re
from typing import BinaryIO

import numpy as np

from vecload.errors import UTF8_REPAIR, ParseError
from vecload.formats.header import BOM, check_header, cut_short_hint, parse_header
from vecload.formats.source import Source
from vecload.formats.builder import TableBuilder
from vecload.formats.table import ReadOptions, Table, Tuning

#: About how many bytes of vectors are gathered at a time (well within a core's cache).
_GATHER_BYTES = 1 << 20
#: The newlines before a token, after the space that ends the token before it.
_NEWLINES = re.compile(rb" \n+")


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
    first = data.find(b" ", 0, size)
    if not eof and (first < 0 or first + 1 + record > size):
        return 0, 0  # not even one whole record yet (a huge token?): read on, with a find per block, not a regex
    # Each match is what a find(" ") from a record's start passes over (its token, after the newlines
    # that may precede it), then the space and the record's vector; the first record that does not fit
    # matches all the rest (the second branch), so the search never goes on to look for a match further.
    parts = re.compile(rb"([^ ]*+)(?: (?s:.{%d})|(?s:.*))" % record).findall(data, 0, size)
    joined = b" ".join(parts)
    ends = _ends(joined)
    spaces = ends + np.arange(len(parts), dtype=np.int64) * record  # the parts' spaces in data
    found = min(int(np.searchsorted(spaces, size - record, side="left")), most)  # the records that fit
    pos = int(spaces[found - 1]) + 1 + record if found else 0
    joined, spaces = joined[: ends[found - 1]] if found else b"", spaces[:found]
    if found < most and eof and (data.find(b" ", pos, size) >= 0 or data[pos:size].strip()):
        if found:
            _decode(joined, data, spaces, base, done, name, builder)  # an earlier bad token is reported first
        present = done + found
        raise ParseError(
            name,
            f"the file ends inside record {present + 1} of {count} (truncated?)",
            offset=base + size - len(data[pos:size].lstrip(b"\n")),
            fix=cut_short_hint(present) if most + done == count and present else None,
        )
    if found:
        tokens, leads = _decode(joined, data, spaces, base, done, name, builder)
        if len(tokens) < found:  # bad_rows="skip": records whose token is not UTF-8 are dropped (and reported)
            kept = leads >= 0
            spaces, leads = spaces[kept], leads[kept]
        rows = builder.room(len(spaces))  # the rows go straight into the table where they fit
        if rows is None:
            rows = np.empty((len(spaces), builder.dim), dtype=np.float32)
        _gather(data, size, record, spaces + 1, rows)
        builder.add_chunk(tokens, rows, (leads + base).tolist())
    return found, pos


def _ends(joined: bytes) -> np.ndarray:
    """Where each space-separated part of ``joined`` ends: the positions of its spaces, then its length."""
    return np.append(np.flatnonzero(np.frombuffer(joined, dtype=np.uint8) == 32), len(joined))


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
    joined: bytes, data: bytearray, spaces: np.ndarray, base: int, done: int, name: str, builder: TableBuilder
) -> tuple[list[str], np.ndarray]:
    """The records' tokens and where each starts, from their parts joined by spaces (the parts of
    :func:`_records`, each a token after the newlines before it, as word2vec.c and gensim strip them).

    A token never holds a space byte, and UTF-8 decodes no other byte to a space, so one decode of the
    joined tokens, split on spaces, gives them all at once; only a chunk with invalid UTF-8 is decoded
    token by token (to name the record, or to repair and report; under bad_rows="skip" with strict
    decoding the record is reported as bad, left out of the tokens, and its start given as -1)."""
    stripped = joined.replace(b" \n", b" ")
    if b" \n" in stripped:  # a token after more than one newline
        stripped = _NEWLINES.sub(b" ", stripped)
    stripped = stripped.lstrip(b"\n")
    ends = _ends(stripped)
    leads = spaces - (ends - np.append(-1, ends[:-1]) - 1)  # each space less its token's length
    try:
        return stripped.decode("utf-8").split(" "), leads
    except UnicodeDecodeError:
        pass
    options, report = builder.options, builder.report
    tokens = []
    for k, (lead, space) in enumerate(zip(leads.tolist(), spaces.tolist())):
        token = data[lead:space]
        try:
            tokens.append(token.decode("utf-8"))
        except UnicodeDecodeError as exc:
            if options.unicode_errors == "strict":
                message = (f"the token of record {done + k + 1} is not valid UTF-8 ({exc.reason} at byte "
                           f"{base + lead + exc.start})")
                if options.bad_rows == "skip":
                    report.rows_read += 1
                    report.note("bad_rows", message, base + lead)
                    leads[k] = -1
                    continue
                raise ParseError(name, message, offset=base + lead, fix=UTF8_REPAIR) from None
            # Like gensim: repair, then strip newlines the repair may have brought to the front.
            fixed = token.decode("utf-8", options.unicode_errors).lstrip("\n")
            report.note("decoding_repairs", fixed, base + lead)
            tokens.append(fixed)
    return tokens, leads


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

