"""pytest fixtures shared by several test files. Shared functions live in tests/helpers.py, imported as
``from tests.helpers import ...``; gensim's data files are named by ``gensim.test.utils.datapath(name)``."""

from __future__ import annotations

from pathlib import Path

import pytest
from gensim.test.utils import datapath

@pytest.fixture(scope="session")
def fasttext_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small fastText model trained by gensim on the Lee corpus, saved in Facebook's .bin format."""
    from gensim.models import FastText
    from gensim.models.fasttext import save_facebook_model
    from gensim.utils import simple_preprocess

    with open(datapath("lee_background.cor"), encoding="utf-8") as fh:
        sentences = [simple_preprocess(line) for line in fh]
    model = FastText(sentences, vector_size=16, bucket=3000, min_count=3, min_n=3, max_n=5, epochs=1, workers=1,
                     seed=1)
    path = tmp_path_factory.mktemp("fasttext") / "lee.bin"
    save_facebook_model(model, str(path))
    return path
