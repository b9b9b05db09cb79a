"""The fastText ``.bin`` reader: Facebook's model format, as ``fasttext`` and gensim's ``save_facebook_model`` write it.

A ``.bin`` holds the training arguments (dim, minn, maxn, bucket, ...), the vocabulary and one input matrix
of ``nwords + bucket`` rows: each word's own row, then the hashed character n-gram rows. A word's vector is
the mean of its own row and its n-gram rows (:mod:`vecload.formats.ngrams`), so a table holds those means,
as ``fasttext print-word-vectors``, the ``.vec`` file and gensim's ``load_facebook_vectors`` give them.

The layout is parsed with :mod:`struct` (:mod:`vecload.formats.fasttext_layout`), every length checked
against the bytes present before anything is allocated, so a damaged or truncated file is a
:class:`~vecload.errors.ParseError` naming the byte offset (gensim's own loader loops forever on a file cut
inside the vocabulary, and holds the n-gram table twice). The input matrix is read once into one array;
:class:`FastTextModel` hands out views of it. The older format (before fastText 0.2) reads too.
"""

from __future__ import annotations

import os
from functools import cached_property

import numpy as np

from vecload.errors import FormatError
from vecload.formats.builder import TableBuilder
from vecload.formats.fasttext_layout import FASTTEXT_FORMAT, MAGIC, Parser, looks_like_fasttext
from vecload.formats.source import Source, open_source
from vecload.formats.table import ParseReport, ReadOptions, Table

__all__ = ["FASTTEXT_FORMAT", "MAGIC", "FastTextModel", "looks_like_fasttext", "read_fasttext", "read_fasttext_gensim",
           "read_model"]

_MODELS = {1: "cbow", 2: "skipgram", 3: "supervised"}


class FastTextModel:
    """A fastText model's vocabulary and input matrix, read once; the rows are views of one array.

    Attributes:
        name: The source's name, for messages.
        words: The vocabulary, in the model's order.
        matrix: The input matrix, float32 ``[len(words) + bucket, dim]``.
        args: The training arguments (``dim``, ``minn``, ``maxn``, ``bucket``, ``ws``, ``epoch``, ...),
            plus ``version`` (0 for the old format) and ``ntokens``.
        report: What the reader saw (tokens repaired under ``unicode_errors``).
        offsets: Each word's byte offset in the file, for reports.
    """

    def __init__(self, name: str, words: list[str], matrix: np.ndarray, args: dict, report: ParseReport,
                 offsets: list[int]) -> None:
        self.name = name
        self.words = words
        self.matrix = matrix
        self.args = args
        self.report = report
        self.offsets = offsets

    @property
    def dim(self) -> int:
        return int(self.args["dim"])

    @property
    def minn(self) -> int:
        return int(self.args["minn"])

    @property
    def maxn(self) -> int:
        return int(self.args["maxn"])

    @property
    def bucket(self) -> int:
        return int(self.args["bucket"])

    @property
    def word_rows(self) -> np.ndarray:
        """Each word's own row (a view, not the word's vector: see :func:`~vecload.formats.ngrams.word_vectors`)."""
        return self.matrix[: len(self.words)]

    @property
    def bucket_rows(self) -> np.ndarray:
        """The n-gram bucket rows (a view)."""
        return self.matrix[len(self.words):]

    @cached_property
    def key_to_index(self) -> dict[str, int]:
        """Each word's row (the first, should a repaired token repeat)."""
        index: dict[str, int] = {}
        for i, word in enumerate(self.words):
            index.setdefault(word, i)
        return index

    def describe(self) -> dict:
        """What ``vecload info`` shows: dim, vocabulary size, n-gram range and bucket count, and the rest."""
        return {"dim": self.dim, "words": len(self.words), "minn": self.minn, "maxn": self.maxn, "bucket": self.bucket,
                "model": _MODELS.get(self.args["model"], str(self.args["model"])), "epoch": self.args["epoch"],
                "ws": self.args["ws"], "ntokens": self.args["ntokens"], "version": self.args["version"]}

    def table(self, options: ReadOptions | None = None) -> Table:
        """The in-vocabulary word vectors as a table (see :func:`read_fasttext`)."""
        from vecload.formats.ngrams import model_table

        return model_table(self, options or ReadOptions())


def read_fasttext(source: Source, options: ReadOptions) -> Table:
    """Read a fastText ``.bin`` model's in-vocabulary word vectors, in the model's word order.

    The rows equal gensim's ``load_facebook_vectors(path).vectors`` bit for bit. The report's ``model``
    holds the model's dim, vocabulary size, minn, maxn, bucket and training arguments.

    Example:
        >>> table = read_fasttext(open_source("cc.en.300.bin"), ReadOptions(limit=1000))  # doctest: +SKIP

    Raises:
        ParseError: The file is truncated or damaged; the message names the byte offset.
        FormatError: The model is supervised or quantized (no word vectors to read).
    """
    return read_model(source, options).table(options)


def read_model(source: str | os.PathLike[str] | Source, options: ReadOptions | None = None, *,
               matrix: bool = True) -> FastTextModel:
    """Read a fastText ``.bin`` model: its vocabulary, input matrix (one copy) and arguments.

    Args:
        source: The file (``archive.zip:member`` for a member), or a Source.
        options: ``unicode_errors`` and ``max_bytes`` apply.
        matrix: False checks the matrices' sizes without reading them (a quick look: the model's
            ``matrix`` is then empty).

    Example:
        >>> model = read_model("cc.en.300.bin")  # doctest: +SKIP
        >>> model.minn, model.maxn, model.bucket  # doctest: +SKIP
        (5, 5, 2000000)

    Raises:
        ParseError: The file is truncated or damaged; the message names the byte offset.
        FormatError: The model is supervised or quantized.
    """
    options = options or ReadOptions()
    if not isinstance(source, Source):
        source = open_source(source, None, options.max_bytes)
    with source.open(options.max_bytes) as stream:
        return FastTextModel(*Parser(stream, source, options).parse(read_matrix=matrix))


def read_fasttext_gensim(source: Source, options: ReadOptions) -> Table:
    """:func:`read_fasttext` through gensim's ``load_facebook_vectors`` (the reference engine; a plain file).

    The file is checked first (without reading its matrix), so a damaged one is the same ParseError;
    gensim then holds the n-gram table twice while it loads.
    """
    if source.compression is not None or source.archive is not None:
        raise FormatError(f"{source.name}: the gensim engine reads a fastText model from a plain file only; "
                          f"decompress it, or use the native engine")
    with source.open(options.max_bytes) as stream:
        # checked without reading the matrix, so gensim never sees a damaged file
        checked = FastTextModel(*Parser(stream, source, options).parse(read_matrix=False))
    from gensim.models.fasttext import load_facebook_vectors

    kv = load_facebook_vectors(str(source.path), encoding="utf-8")
    count = len(kv.index_to_key) if options.limit is None else min(options.limit, len(kv.index_to_key))
    builder = TableBuilder(source.name, FASTTEXT_FORMAT, checked.dim, options, unit="offset", expected_rows=count,
                           trusted=True)
    builder.report = checked.report
    builder.report.model = checked.describe()
    builder.add_chunk(kv.index_to_key[:count], kv.vectors[:count], checked.offsets[:count])
    return builder.finish()
