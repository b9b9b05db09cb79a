"""Shared fixtures: the committed tiny files, gensim's real vector files, and an independent parser."""

from __future__ import annotations

import bz2
import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def gensim_data() -> Path:
    """The folder of real vector files that gensim's wheel ships."""
    import gensim

    return Path(gensim.__file__).parent / "test" / "test_data"


@pytest.fixture
def gensim_dir() -> Path:
    """gensim's test data folder."""
    return gensim_data()


def reference_parse(path: Path, binary: bool = False, header: bool | None = None) -> tuple[list[str], np.ndarray]:
    """A deliberately simple, independent parser: tokens and float32(float(decimal)) values.

    Text: the token is everything before the last ``dim`` fields. Binary: records of ``token<space>``
    followed by ``dim`` little-endian float32s, an optional newline before each token.
    """
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    elif raw[:3] == b"BZh":
        raw = bz2.decompress(raw)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if binary:
        first, _, body = raw.partition(b"\n")
        count, dim = map(int, first.split())
        tokens, values, pos = [], [], 0
        for _ in range(count):
            while body[pos : pos + 1] == b"\n":
                pos += 1
            space = body.index(b" ", pos)
            tokens.append(body[pos:space].decode("utf-8"))
            values.append(struct.unpack(f"<{dim}f", body[space + 1 : space + 1 + 4 * dim]))
            pos = space + 1 + 4 * dim
        return tokens, np.array(values, dtype=np.float32).reshape(count, dim)
    lines = [line.rstrip() for line in raw.decode("utf-8").splitlines() if line.strip()]
    if header is None:
        header = len(lines[0].split()) == 2 and all(f.isdigit() for f in lines[0].split())
    dim = int(lines[0].split()[1]) if header else len(lines[0].split(" ")) - 1
    body = lines[1:] if header else lines
    tokens, rows = [], []
    for line in body:
        fields = line.split(" ")
        tokens.append(" ".join(fields[:-dim]))
        rows.append([np.float32(float(x)) for x in fields[-dim:]])
    return tokens, np.array(rows, dtype=np.float32).reshape(len(tokens), dim)


def bits(array: np.ndarray) -> np.ndarray:
    """The raw bit patterns of a float32 array, for exact comparison (NaN payloads and -0.0 included)."""
    return np.ascontiguousarray(array, dtype=np.float32).view(np.uint32)


def records(pth: Path) -> tuple[bytes, bytes]:
    """The raw tokens and metadata records inside a converted file."""
    import zipfile

    with zipfile.ZipFile(pth) as archive:
        root = archive.namelist()[0].split("/")[0]
        return archive.read(f"{root}/vecload/tokens.json"), archive.read(f"{root}/vecload/meta.json")


def rewrite(pth: Path, *, tensor=None, tokens_record: bytes | None = None, meta_record: bytes | None = None) -> None:
    """Write ``pth`` again as vecload would, with some parts replaced (no fingerprint is updated)."""
    import torch

    from vecload.store import write_table

    old_tokens, old_meta = records(pth)
    if tensor is None:
        tensor = torch.load(pth, weights_only=True).clone()
    with open(pth, "w+b") as fh:
        write_table(fh, tensor, old_tokens if tokens_record is None else tokens_record,
                    old_meta if meta_record is None else meta_record, False)


def edit_tokens(pth: Path, tokens: list, rehash: bool = False) -> None:
    """Replace the token list inside ``pth``; with ``rehash``, also update its fingerprint to match."""
    import hashlib
    import json

    encoded = json.dumps(tokens, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    meta_record = None
    if rehash:
        document = json.loads(records(pth)[1])
        document["meta"]["tokens_sha256"] = hashlib.sha256(encoded).hexdigest()
        meta_record = json.dumps(document).encode("utf-8")
    rewrite(pth, tokens_record=encoded, meta_record=meta_record)


@pytest.fixture(scope="session")
def fasttext_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small fastText model trained by gensim on the Lee corpus, saved in Facebook's .bin format."""
    from gensim.models import FastText
    from gensim.models.fasttext import save_facebook_model
    from gensim.test.utils import datapath
    from gensim.utils import simple_preprocess

    with open(datapath("lee_background.cor"), encoding="utf-8") as fh:
        sentences = [simple_preprocess(line) for line in fh]
    model = FastText(sentences, vector_size=16, bucket=3000, min_count=3, min_n=3, max_n=5, epochs=1, workers=1,
                     seed=1)
    path = tmp_path_factory.mktemp("fasttext") / "lee.bin"
    save_facebook_model(model, str(path))
    return path
