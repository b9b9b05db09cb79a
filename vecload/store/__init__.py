"""The converted file: one ``.pth`` holding the float32 tensor, its tokens and its metadata.

The file is the zip archive ``torch.save`` writes for the bare tensor (written record for record by
:mod:`~vecload.store.archive`, without importing torch), so ``torch.load(p, weights_only=True)``
(with or without ``mmap=True``) returns exactly that tensor. vecload adds two records to the same archive,
under the archive's own folder, which ``torch.load`` never references:

- ``<archive>/vecload/tokens.json``: the tokens in row order, as one compact JSON array (UTF-8);
- ``<archive>/vecload/meta.json``: ``{"kind": "vecload-table", "layout": 2, "meta": {...}}`` where the
  metadata holds the source, format, parse report and options, ``vecload_version``, the tensor's
  fingerprint (dtype, shape, a hash of sampled rows, a hash of every byte) and ``tokens_sha256``, the
  sha256 of the tokens record, an unambiguous encoding (``["a b"]`` and ``["a", "b"]`` differ).

Every load checks the token hash, that the tokens are distinct strings, one per row, the shape and the
sampled rows; ``verify=True`` also hashes every byte. The records' sizes are bounded before they are read
(:func:`record_cap`), and anything a file holds raises :class:`~vecload.errors.IntegrityError`, never
another exception. The tensor is always loaded with ``weights_only=True``: no code from the file runs.

The package: :mod:`~vecload.store.layout` (the records' names, bounds, fingerprints), :mod:`~vecload.store.archive`
(the tensor's archive), :mod:`~vecload.store.write` (:func:`save`) and :mod:`~vecload.store.read` (:func:`load`, :func:`read_meta` and every check of a file).
"""

from vecload.store.layout import distinct, fingerprint, sample_rows
from vecload.store.read import describe_object, legacy_vocab_path, load, read_meta
from vecload.store.write import save, write_json, write_table, write_token_lines

__all__ = ["describe_object", "distinct", "fingerprint", "legacy_vocab_path", "load", "read_meta", "sample_rows",
           "save", "write_json", "write_table", "write_token_lines"]
