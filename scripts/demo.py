"""The main job on real vectors, no download: convert, inspect, train with the table frozen, check it.

Run by `make demo`. Uses the head of glove.6B.50d that gensim's wheel ships, and word2vec vectors that
gensim trains here on the Lee corpus its wheel also ships (written in word2vec's binary format).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import gensim
import torch
from torch import nn

import vecload

OUT = Path(__file__).resolve().parent.parent / "demo-out"
DATA = Path(gensim.__file__).parent / "test" / "test_data"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    glove = DATA / "test_glove.txt"
    w2v = train_word2vec(OUT / "lee.w2v.bin")

    step("1. convert real GloVe vectors (the head of glove.6B.50d) and gensim-trained word2vec vectors")
    cli("convert", str(glove), "-o", str(OUT / "glove.6B.50d-head.pth"), "--force")
    cli("convert", str(w2v), "-o", str(OUT / "lee.w2v.pth"), "--force")

    step("2. what was written")
    cli("info", str(OUT / "glove.6B.50d-head.pth"))
    weight = torch.load(OUT / "glove.6B.50d-head.pth", weights_only=True)
    print(f"torch.load(..., weights_only=True) -> {type(weight).__name__} {tuple(weight.shape)} {weight.dtype}")

    step("3. load as a frozen nn.Embedding and train a small classifier on top of it")
    vectors = vecload.load(OUT / "glove.6B.50d-head.pth")
    train_frozen(vectors)

    step("4. frozen pretrained rows beside learnable special tokens (<pad>, <unk>, an <iou> token)")
    train_specials(vectors)


def train_word2vec(path: Path) -> Path:
    """Train small word2vec vectors on gensim's bundled Lee corpus and save them as word2vec binary."""
    from gensim.models import Word2Vec
    from gensim.models.word2vec import LineSentence

    model = Word2Vec(LineSentence(str(DATA / "lee_background.cor")), vector_size=32, min_count=3,
                     workers=1, seed=0, epochs=3)
    model.wv.save_word2vec_format(str(path), binary=True)
    return path


def train_frozen(vectors: vecload.Vectors) -> None:
    """Train a classifier over a frozen embedding with AdamW + weight decay; show the table did not move."""
    torch.manual_seed(0)
    embedding = vectors.to_embedding(freeze=True)
    classifier = nn.Linear(vectors.dim, 2)
    before = digest(embedding.weight)
    optimizer = torch.optim.AdamW(
        [p for p in [*embedding.parameters(), *classifier.parameters()] if p.requires_grad],
        lr=0.05, weight_decay=0.1,
    )
    words = torch.randint(len(vectors), (64, 8))
    labels = (words % 2).sum(dim=1) % 2
    for step_no in range(1, 21):
        optimizer.zero_grad()
        logits = classifier(embedding(words).mean(dim=1))
        loss = nn.functional.cross_entropy(logits, labels)
        loss.backward()
        optimizer.step()
        if step_no in (1, 20):
            print(f"  step {step_no:2d}: loss {loss.item():.4f}")
    after = digest(embedding.weight)
    print(f"  frozen table sha256 before: {before}")
    print(f"  frozen table sha256 after:  {after}")
    print(f"  frozen table unchanged: {'yes' if before == after else 'NO'} "
          f"(AdamW, weight decay 0.1, 20 steps)")
    if before != after:
        sys.exit("the frozen table changed")


def train_specials(vectors: vecload.Vectors) -> None:
    """A PretrainedEmbedding trains its specials while vecload.assert_frozen guards the pretrained rows."""
    torch.manual_seed(0)
    emb = vecload.PretrainedEmbedding(vectors, specials=("<pad>", "<unk>", "<iou>"), padding_idx="<pad>")
    head = nn.Linear(vectors.dim, 2)
    model = nn.ModuleDict({"emb": emb, "head": head})
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.05, weight_decay=0.1)
    specials_before = emb.weight[:3].clone()
    words = torch.randint(emb.num_embeddings, (64, 8))
    words[:, 0] = emb.index("<iou>")
    labels = (words % 2).sum(dim=1) % 2
    with vecload.assert_frozen(model):
        for _ in range(50):
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(head(emb(words).mean(dim=1)), labels)
            loss.backward()
            optimizer.step()
    moved = (emb.weight[:3] - specials_before).abs().amax(dim=1)
    print(f"  {emb.num_embeddings} rows: 3 specials + {len(vectors)} pretrained; 50 AdamW steps, weight decay 0.1")
    print("  assert_frozen: pretrained rows bit-identical (it raises FrozenTableModified otherwise)")
    print(f"  <pad> row is zero: {bool((emb.weight[0] == 0).all())}; "
          f"<unk> moved by {moved[1]:.4f}; <iou> moved by {moved[2]:.4f}")


def digest(tensor: torch.Tensor) -> str:
    return hashlib.sha256(tensor.detach().contiguous().numpy().tobytes()).hexdigest()[:16]


def cli(*args: str) -> None:
    print(f"$ vecload {' '.join(args)}")
    subprocess.run([sys.executable, "-m", "vecload", *args], check=True)


def step(title: str) -> None:
    print(f"\n== {title}")


if __name__ == "__main__":
    main()
