"""pytest fixtures shared by several test files. Shared functions live in tests/helpers.py, imported as
``from tests.helpers import ...``; gensim's data files are named by ``gensim.test.utils.datapath(name)``."""

from __future__ import annotations

from pathlib import Path

import pytest
from gensim.test.utils import datapath

# Only for the test files not yet moved to tests.helpers (test_align, test_fasttext, test_subword, test_export,
# test_evaluate, test_neighbors: other work in progress): once they import from tests.helpers and use
# datapath(name), delete this import and gensim_data below.
from tests.helpers import bits, reference_parse  # noqa: F401


def gensim_data() -> Path:
    """gensim's test data folder (being retired: use ``gensim.test.utils.datapath(name)``)."""
    return Path(datapath(""))


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
