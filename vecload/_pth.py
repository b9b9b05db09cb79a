"""Recognising a converted file (a ``torch.save`` zip) without importing torch, so that ``vecload info``
takes a quick look at a source in a fraction of a second (importing torch alone takes about two)."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from vecload.errors import VecloadError


def is_converted(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is meant as a converted file: named ``.pth``/``.pt``, or a ``torch.save`` zip."""
    file = Path(path)
    if file.suffix in (".pth", ".pt"):
        return True
    from vecload.formats.zipfiles import zip_names

    try:  # one central directory entry at a time: an archive of vectors may have many members
        if not file.is_file() or not zipfile.is_zipfile(file):
            return False
        return any(root([name]) for name in zip_names(file))
    except (OSError, VecloadError):  # a damaged zip is a source for the readers to refuse
        return False


def root(names: list[str]) -> str | None:
    """The archive's top-level folder: the one holding ``data.pkl``, as torch.load requires."""
    for name in names:
        folder, _, leaf = name.partition("/")
        if leaf == "data.pkl" and folder:
            return folder
    return None
