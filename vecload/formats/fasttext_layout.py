"""The layout of a fastText ``.bin`` file, parsed with :mod:`struct`, every length checked before it is allocated.

::

    [magic int32, version int32]          absent in the old format (before fastText 0.2)
    args: 12 int32 + t double             dim, ws, epoch, min_count, neg, word_ngrams, loss, model, bucket,
                                          minn, maxn, lr_update_rate, t (old format: dim and ws come first)
    vocabulary: size, nwords, nlabels int32, ntokens int64, [pruneidx_size int64]
                size x (word bytes, NUL, count int64, type int8), [pruneidx_size x 2 int32]
    [quant bool] input matrix: rows int64, dim int64, rows x dim float32   (rows = nwords + bucket)
    [quant bool] output matrix: rows int64, dim int64, rows x dim float32  (checked, never read into memory
                                                                            where the stream can seek)
"""

from __future__ import annotations

import math
import struct
from typing import BinaryIO

import numpy as np

from vecload.errors import UTF8_REPAIR, FormatError, ParseError
from vecload.formats.bounded import BOUND_RATIO, MIN_BOUND
from vecload.formats.builder import empty_rows
from vecload.formats.source import Source
from vecload.formats.table import ParseReport, ReadOptions

#: The format name vecload gives a fastText model.
FASTTEXT_FORMAT = "fasttext-bin"
MAGIC = 793712314
#: The training arguments, in file order (fastText's ``Args::save``).
_ARGS = ("dim", "ws", "epoch", "min_count", "neg", "word_ngrams", "loss", "model", "bucket", "minn", "maxn",
         "lr_update_rate", "t")
_ARGS_STRUCT = struct.Struct("<12id")
_MAX_DIM = 1 << 20
_MAX_WORD_BYTES = 1 << 20
_PIECE = 1 << 20
_BLOCK = 16 << 20


def looks_like_fasttext(head: bytes) -> bool:
    """True when ``head`` starts like a fastText model: the magic number, or old-format arguments that are
    all plausible (text and word2vec files never pass)."""
    if len(head) >= 8 and struct.unpack_from("<i", head)[0] == MAGIC:
        return 0 <= struct.unpack_from("<i", head, 4)[0] < 100
    if len(head) < _ARGS_STRUCT.size + 12:
        return False
    args = dict(zip(_ARGS, _ARGS_STRUCT.unpack_from(head)))
    size, nwords, nlabels = struct.unpack_from("<3i", head, _ARGS_STRUCT.size)
    return (_plausible(args) and 1 <= args["ws"] < 10_000 and 1 <= args["lr_update_rate"]
            and 0 <= nlabels and 0 <= nwords and size == nwords + nlabels)


def _plausible(args: dict) -> bool:
    return (1 <= args["dim"] <= _MAX_DIM and args["epoch"] >= 0 and args["min_count"] >= 0 and args["neg"] >= 0
            and args["loss"] in (1, 2, 3, 4) and args["model"] in (1, 2, 3) and args["bucket"] >= 0
            and 0 <= args["minn"] <= args["maxn"] < 1000 and math.isfinite(args["t"]))


class Parser:
    """Reads the layout front to back, keeping the byte offset for messages; :meth:`parse` returns the
    arguments of :class:`~vecload.formats.fasttext.FastTextModel`."""

    def __init__(self, stream: BinaryIO, source: Source, options: ReadOptions) -> None:
        self.stream = stream
        self.name = source.name
        self.size = source.uncompressed_size()
        # A compressed stream of unknown size can inflate only so far (see vecload.formats.bounded).
        self.bound = self.size if self.size is not None else (
            options.max_bytes or max(MIN_BOUND, BOUND_RATIO * source.size()))
        self.options = options
        self.buffer = b""
        self.at = 0  # the offset of buffer[0] in the file
        self.pos = 0  # the read position in buffer

    @property
    def offset(self) -> int:
        return self.at + self.pos

    def parse(self, read_matrix: bool = True) -> tuple[str, list[str], np.ndarray, dict, ParseReport, list[int]]:
        """The whole file, checked; without ``read_matrix`` the input matrix is only checked, not read."""
        magic, version = struct.unpack("<2i", self.take(8, "the header"))
        if magic == MAGIC:
            args = dict(zip(_ARGS, _ARGS_STRUCT.unpack(self.take(_ARGS_STRUCT.size, "the header"))))
        else:  # the old format: no magic and version; the first two numbers are dim and ws
            rest = struct.unpack("<10id", self.take(_ARGS_STRUCT.size - 8, "the header"))
            args = dict(zip(_ARGS, (magic, version, *rest)))
            version = 0
        if not _plausible(args) or not 0 <= version <= 12:
            shown = ", ".join(f"{k} {v}" for k, v in args.items() if k in ("dim", "loss", "model", "minn", "maxn"))
            what = "has fastText's magic number but" if magic == MAGIC else "is not a fastText model: it has"
            raise ParseError(self.name, f"{what} an implausible header (version {version}, {shown}): the file is "
                             f"damaged or not a fastText model", offset=0)
        args["version"] = version
        words, offsets, report = self.vocabulary(args, new=version > 0)
        if version > 0 and self.take(1, "the input matrix's header") != b"\0":
            raise FormatError(f"{self.name}: is a quantized fastText model (.ftz); vecload reads unquantized .bin "
                              f"models")
        matrix = self.input_matrix(len(words) + args["bucket"], args["dim"], read_matrix)
        self.skip_output(new=version > 0)
        return self.name, words, matrix, args, report, offsets

    def vocabulary(self, args: dict, new: bool) -> tuple[list[str], list[int], ParseReport]:
        where = self.offset
        size, nwords, nlabels = struct.unpack("<3i", self.take(12, "the vocabulary's header"))
        args["ntokens"] = struct.unpack("<q", self.take(8, "the vocabulary's header"))[0]
        pruned = struct.unpack("<q", self.take(8, "the vocabulary's header"))[0] if new else -1
        if nlabels > 0 or args["model"] == 3:
            raise FormatError(f"{self.name}: is a supervised fastText classifier ({nlabels} labels), not word "
                              f"vectors; vecload reads unsupervised (skipgram or cbow) models")
        if size != nwords or size < 0 or nlabels < 0:
            raise ParseError(self.name, f"the vocabulary has {size} entries, {nwords} words and {nlabels} labels; "
                             f"expected as many entries as words (the file is damaged)", offset=where)
        if pruned > 0:
            raise FormatError(f"{self.name}: is a pruned (quantized) fastText model; vecload reads unquantized "
                              f".bin models")
        report = ParseReport(header=[size, args["dim"]])
        words, offsets = [], []
        errors = self.options.unicode_errors
        for i in range(size):
            start = self.offset
            raw = self.word(i, size)
            entry = self.take(9, f"word {i + 1} of {size}")
            if entry[8] != 0:
                raise ParseError(self.name, f"word {i + 1} of {size} has entry type {entry[8]}, expected 0 (a word)",
                                 offset=self.offset - 1)
            try:
                word = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                if errors == "strict":
                    raise ParseError(self.name, f"word {i + 1} ({raw[:40]!r}) is not UTF-8 ({exc.reason})",
                                     offset=start, fix=UTF8_REPAIR) from None
                word = raw.decode("utf-8", errors)
                report.note("decoding_repairs", word, start)
            words.append(word)
            offsets.append(start)
        return words, offsets, report

    def input_matrix(self, rows: int, dim: int, read: bool) -> np.ndarray:
        where = self.offset
        count, width = struct.unpack("<2q", self.take(16, "the input matrix's header"))
        if (count, width) != (rows, dim):
            raise ParseError(self.name, f"the input matrix is {count} x {width}, expected {rows} x {dim} (words + "
                             f"buckets x dim)", offset=where)
        if not read:
            self.skip(4 * rows * dim, "the input matrix")
            return np.empty((0, dim), dtype=np.float32)
        self.need(4 * rows * dim, "the input matrix")
        matrix = empty_rows(rows, dim)
        self.fill(memoryview(matrix).cast("B"), "the input matrix")
        return matrix

    def skip_output(self, new: bool) -> None:
        """Check the output matrix is whole and nothing follows it, reading it only where the size is unknown."""
        if new:
            self.take(1, "the output matrix's header")
        where = self.offset
        count, width = struct.unpack("<2q", self.take(16, "the output matrix's header"))
        if count < 0 or width < 0:
            raise ParseError(self.name, f"the output matrix is {count} x {width}", offset=where)
        self.skip(4 * count * width, "the output matrix")
        trailing = (self.size - self.offset) if self.size is not None else len(self.buffer) - self.pos + len(
            self.stream.read(1))
        if trailing:
            raise ParseError(self.name, "unexpected bytes after the model's end (two files joined?)",
                             offset=self.offset)

    def skip(self, count: int, what: str) -> None:
        """Step over ``count`` bytes, reading them only where the stream cannot seek (a compressed stream)."""
        self.need(count, what)
        if self.size is not None and self.stream.seekable() and count > len(self.buffer) - self.pos:
            target = self.offset + count
            self.stream.seek(target)  # a plain file: stream positions are file offsets
            self.at, self.buffer, self.pos = target, b"", 0
            return
        scratch = memoryview(bytearray(min(count, _BLOCK) or 1))
        while count:
            piece = scratch[: min(count, len(scratch))]
            self.fill(piece, what)
            count -= len(piece)

    def need(self, count: int, what: str) -> None:
        """Refuse a length the file cannot hold, before allocating it."""
        if self.offset + count > self.bound:
            if self.size is None:
                raise ParseError(self.name, f"{what} would need {count:,} bytes, more than the stream can inflate "
                                 f"to ({self.bound:,}); pass max_bytes= if the file is genuine", offset=self.offset)
            raise self.truncated(what, self.size)

    def take(self, count: int, what: str) -> bytes:
        if self.pos + count > len(self.buffer):
            self.refill(count)
            if self.pos + count > len(self.buffer):
                raise self.truncated(what, self.at + len(self.buffer))
        data = self.buffer[self.pos: self.pos + count]
        self.pos += count
        return data

    def word(self, i: int, size: int) -> bytes:
        end = self.buffer.find(b"\0", self.pos)
        while end < 0:
            if len(self.buffer) - self.pos > _MAX_WORD_BYTES:
                raise ParseError(self.name, f"word {i + 1} of {size} has no end within {_MAX_WORD_BYTES:,} bytes "
                                 f"(a damaged file?)", offset=self.offset)
            searched = len(self.buffer) - self.pos
            if not self.refill(searched + _PIECE):
                raise self.truncated(f"word {i + 1} of {size}", self.at + len(self.buffer))
            end = self.buffer.find(b"\0", self.pos + searched)
        raw = self.buffer[self.pos: end]
        self.pos = end + 1
        return raw

    def refill(self, wanted: int) -> bool:
        """Read more so that at least ``wanted`` bytes follow the position; False at the end of the file."""
        kept = self.buffer[self.pos:]
        self.at += self.pos
        self.pos = 0
        more = self.stream.read(max(wanted - len(kept), _PIECE))
        self.buffer = kept + more
        return bool(more)

    def fill(self, target: memoryview, what: str) -> None:
        """Fill ``target`` from the buffer, then straight from the stream."""
        ready = min(len(self.buffer) - self.pos, len(target))
        target[:ready] = self.buffer[self.pos: self.pos + ready]
        self.pos += ready
        if ready == len(target):
            return
        self.at, self.buffer, self.pos = self.at + self.pos, b"", 0
        done = ready
        while done < len(target):
            got = self.stream.readinto(target[done: done + _BLOCK])  # type: ignore[attr-defined]
            if not got:
                raise self.truncated(what, self.at)
            done += got
            self.at += got

    def truncated(self, what: str, end: int) -> ParseError:
        return ParseError(self.name, f"the file ends inside {what}: it is truncated; download it again",
                          offset=end)
