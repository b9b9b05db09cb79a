"""The result of an alignment: :class:`Aligned`, vectors that know where each row came from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from vecload._embedding_state import ALIGNED_PAD
from vecload.alignment.coverage import CoverageReport
from vecload.alignment.meta import check_metadata, trainable_mask
from vecload.errors import ArgumentError
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
        check_metadata(align, len(vectors))
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
        return trainable_mask(self.meta["align"])

    def to_embedding(self, *, freeze: bool | str = True,  # type: ignore[override]
                     padding_idx: int | str | None = ALIGNED_PAD, **kwargs: Any) -> PretrainedEmbedding:
        """A :class:`vecload.PretrainedEmbedding` whose found rows are frozen and whose OOV rows and specials
        train, the pad row zero: :meth:`PretrainedEmbedding.from_aligned`, with the same arguments
        (``padding_idx`` defaults to the pad row; ``None`` for no padding row)."""
        from vecload.embedding import PretrainedEmbedding

        return PretrainedEmbedding.from_aligned(self, freeze=freeze, padding_idx=padding_idx, **kwargs)

    def __repr__(self) -> str:
        report = self.coverage
        return (f"Aligned(count={len(self)}, vector_size={self.vector_size}, found={report.found_types}, "
                f"oov={report.oov})")
