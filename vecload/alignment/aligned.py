"""The result of an alignment: :class:`Aligned`, vectors that know where each row came from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from vecload.alignment.coverage import CoverageReport
from vecload.errors import ArgumentError, IntegrityError
from vecload.vectors import Vectors

if TYPE_CHECKING:
    from vecload.embedding import PretrainedEmbedding


class Aligned(Vectors):
    """Vectors aligned to a task vocabulary, with where each row came from.

    Everything lives in ``meta["align"]``, so a converted file loaded again keeps it
    (``Aligned.from_vectors(vecload.load("task.pth"))``):

    - ``origins``: per row, ``"pad"``, ``"special"``, the lookup step that found it, ``"oov"``, or the
      label an OOV method gave it;
    - ``matched``: per row, the source token whose row it is (None for pad, specials and OOV);
    - ``pad_index``, ``specials``, ``steps``, ``oov_init`` (method, seed and statistics), ``coverage``
      (a :class:`CoverageReport` dict), ``vocab`` and ``self_check``.

    Example:
        >>> a = Aligned.from_vectors(vecload.load("task.pth"))
        >>> emb = a.to_embedding()  # found rows frozen, OOV rows and specials trained, the pad zero
    """

    @classmethod
    def from_vectors(cls, vectors: Vectors) -> Aligned:
        """View loaded vectors as aligned ones.

        Raises:
            ArgumentError: Not vectors, or vectors that carry no alignment (not written by an alignment).
            IntegrityError: The alignment metadata is damaged (names the entry and what is wrong).
        """
        if not isinstance(vectors, Vectors):
            raise ArgumentError(f"from_vectors takes vecload.Vectors, got {type(vectors).__name__}")
        align = vectors.meta.get("align")
        if align is None:
            raise ArgumentError("these vectors carry no alignment metadata (convert with a vocabulary first)")
        _check_metadata(align, len(vectors))
        return cls(vectors.tokens, vectors.vectors, vectors.meta)

    @property
    def origins(self) -> list[str]:
        """Per row: ``"pad"``, ``"special"``, the lookup step that found it, ``"oov"`` (or an OOV method's label)."""
        return self.meta["align"]["origins"]

    @property
    def matched(self) -> list[str | None]:
        """Per row: the source token that gave the row, or None."""
        return self.meta["align"]["matched"]

    @property
    def pad_index(self) -> int | None:
        """The pad's row (give it to ``nn.Embedding`` as ``padding_idx``), or None."""
        return self.meta["align"]["pad_index"]

    @property
    def coverage(self) -> CoverageReport:
        """How much of the task vocabulary the source covered."""
        return CoverageReport.from_dict(self.meta["align"]["coverage"])

    @property
    def trainable_mask(self) -> torch.Tensor:
        """A bool tensor, True for rows with no pretrained vector (every row but the pad and the rows found)."""
        steps = set(self.meta["align"]["steps"])
        return torch.tensor([o != "pad" and o not in steps for o in self.origins], dtype=torch.bool)

    def to_embedding(self, freeze: bool = True, **kwargs: Any) -> PretrainedEmbedding:  # type: ignore[override]
        """A :class:`vecload.PretrainedEmbedding` whose found rows are frozen and whose OOV rows and specials
        train, the pad row zero: :meth:`PretrainedEmbedding.from_aligned` (same arguments)."""
        from vecload.embedding import PretrainedEmbedding

        return PretrainedEmbedding.from_aligned(self, freeze=freeze, **kwargs)

    def __repr__(self) -> str:
        report = self.coverage
        return (f"Aligned(count={len(self)}, vector_size={self.vector_size}, found={report.found_types}, "
                f"oov={report.oov})")


def _check_metadata(align: Any, count: int) -> None:
    """``meta["align"]`` must have the entries the properties read, of the right types and lengths."""
    def bad(what: str) -> IntegrityError:
        return IntegrityError(f"the alignment metadata is damaged: {what}; convert with the vocabulary again")

    if not isinstance(align, dict):
        raise bad(f"meta['align'] is a {type(align).__name__}, not a dict")
    for key, kind in (("origins", list), ("matched", list), ("steps", list), ("specials", list), ("coverage", dict)):
        if not isinstance(align.get(key), kind):
            raise bad(f"'{key}' is {type(align.get(key)).__name__}, expected a {kind.__name__}")
    for key in ("origins", "matched"):
        if len(align[key]) != count:
            raise bad(f"'{key}' has {len(align[key])} entries for {count} rows")
    if not all(isinstance(origin, str) for origin in align["origins"]):
        raise bad("'origins' holds an entry that is not a string")
    if not all(token is None or isinstance(token, str) for token in align["matched"]):
        raise bad("'matched' holds an entry that is neither a string nor None")
    if not all(isinstance(step, str) for step in align["steps"]):
        raise bad("'steps' holds an entry that is not a string")
    pad = align.get("pad_index")
    if pad is not None and (isinstance(pad, bool) or not isinstance(pad, int) or not 0 <= pad < count
                            or align["origins"][pad] != "pad"):
        raise bad(f"'pad_index' is {pad!r}, not the row of the pad")
    try:
        CoverageReport.from_dict(align["coverage"])
    except TypeError as exc:
        raise bad(f"'coverage' does not hold a coverage report ({exc})") from exc
