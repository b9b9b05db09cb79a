"""The main job on real vectors, no download, each step printed with the code that does it.

Run by `make demo` (in demo-out/, so every path is short): convert GloVe vectors -> load them ->
a PretrainedEmbedding with a learnable special token -> a few training steps under assert_frozen ->
align a small task vocabulary and read its coverage -> align a 30k-token vocabulary and train its OOV rows
-> the check-frozen matrix in brief. The vectors are gensim's `test_glove.txt` (76 rows of GloVe 50d) and
`lee_fasttext.vec` (1,762 rows of fastText 10d), both shipped in gensim's wheel (see data/README.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import gensim

OUT = Path(__file__).resolve().parent.parent / "demo-out"
DATA = Path(gensim.__file__).parent / "test" / "test_data"
# A task vocabulary: words the sample has, one only in another case, and words it lacks.
TASK_VOCAB = ["the", "people", "said", "Percent", "year", "cat", "new", "zebra"]

STEPS: list[tuple[str, str]] = [
    ("convert the GloVe sample to one .pth (tensor, tokens, metadata)",
     "$ vecload convert test_glove.txt -o glove.pth --force"),
    ("a quick look at the source, without reading every row",
     "$ vecload info test_glove.txt"),
    ("load it, and wrap it in a PretrainedEmbedding with learnable special tokens", """
import torch, vecload

vectors = vecload.load("glove.pth")
emb = vecload.PretrainedEmbedding(vectors, specials=("<pad>", "<unk>", "<cls>"), padding_idx="<pad>")
print(vectors, "->", emb.num_embeddings, "rows; <cls> is row", emb.get_index("<cls>"), "and 'the' row", emb.get_index("the"))
"""),
    ("a few training steps; assert_frozen raises if a pretrained row moves", """
torch.manual_seed(0)
model = torch.nn.Sequential(emb, torch.nn.Flatten(), torch.nn.Linear(4 * 50, 2))
optimizer = torch.optim.AdamW(model.parameters(), lr=0.05, weight_decay=0.1)
words, labels = torch.randint(emb.num_embeddings, (32, 4)), torch.randint(2, (32,))
cls_before = emb.weight[emb.get_index("<cls>")].clone()
with vecload.assert_frozen(model):
    for step in range(20):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(words), labels)
        loss.backward()
        optimizer.step()
moved = (emb.weight[emb.get_index("<cls>")] - cls_before).norm()
print(f"loss {loss.item():.3f}; pretrained rows bit-identical; <cls> moved by {moved:.3f}")
"""),
    ("align a task vocabulary (task-vocab.txt) and read its coverage", """
aligned = vecload.align("test_glove.txt", "task-vocab.txt", lookup=("exact", "lower"), oov="normal")
print(aligned.coverage.summary())
print("rows:", " ".join(f"{token}={origin}" for token, origin in zip(aligned.tokens, aligned.origins)))
"""),
    ("a 30k-token task vocabulary against lee_fasttext.vec: train the OOV rows and specials, found rows frozen", """
source = vecload.load("lee_fasttext.vec")
task = source.tokens + [f"newword{i}" for i in range(30_000 - len(source))]   # 28,238 words the file lacks
aligned = vecload.align("lee_fasttext.vec", task, specials=("<pad>", "<unk>"), oov="normal")
emb = vecload.PretrainedEmbedding.from_aligned(aligned)    # found rows frozen; OOV rows, <unk> train; <pad> zero
model = torch.nn.Sequential(emb, torch.nn.Linear(emb.embedding_dim, 2))
optimizer = torch.optim.AdamW(model.parameters(), lr=0.05, weight_decay=0.1)
before = emb.weight.clone()
generator = torch.Generator().manual_seed(0)
with vecload.assert_frozen(model):
    for step in range(10):
        words = torch.randint(emb.num_embeddings, (64, 16), generator=generator)
        labels = torch.randint(2, (64,), generator=generator)
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(words).mean(1), labels).backward()
        optimizer.step()
moved = (emb.weight != before).any(1)
found = ~aligned.trainable_mask
found[aligned.pad_index] = False
print(f"{len(aligned):,} rows: {int(found.sum()):,} found, bit-identical: {not moved[found].any().item()}; "
      f"{int(moved.sum()):,} of {int(aligned.trainable_mask.sum()):,} trainable rows changed (weight decay reaches "
      f"every one, gradients the looked-up ones); pad row zero: "
      f"{not emb.weight[aligned.pad_index].any().item()}")
"""),
    ("which ways of freezing hold, each over 6 optimizers without and with max_norm (in full: vecload check-frozen)", """
from vecload.freeze_matrix import check_frozen_matrix

cells = check_frozen_matrix()
for method in dict.fromkeys(cell.method for cell in cells):
    runs = [cell for cell in cells if cell.method == method]
    held = sum(cell.sound for cell in runs)
    print(f"{method:30} table bit-identical, specials trained: {held:2} of {len(runs)} runs")
"""),
]


def main() -> None:
    start = time.perf_counter()
    OUT.mkdir(exist_ok=True)
    os.chdir(OUT)  # the steps name files relative to demo-out/
    shutil.copyfile(DATA / "test_glove.txt", OUT / "test_glove.txt")
    shutil.copyfile(DATA / "lee_fasttext.vec", OUT / "lee_fasttext.vec")
    (OUT / "task-vocab.txt").write_text("\n".join(TASK_VOCAB) + "\n", encoding="utf-8")
    print(f"in {OUT.name}/: test_glove.txt (gensim's GloVe sample, 76 x 50), lee_fasttext.vec (gensim's "
          f"fastText sample, 1762 x 10) and task-vocab.txt ({len(TASK_VOCAB)} words)")
    namespace: dict[str, object] = {}
    for number, (title, code) in enumerate(STEPS, 1):
        print(f"\n== {number}. {title}")
        if code.startswith("$ "):
            print(code)
            args = code[2:].split()
            subprocess.run([sys.executable, "-m", "vecload", *args[1:]], check=True, cwd=OUT)
        else:
            code = code.strip("\n")
            print(textwrap.indent(code, "    "))
            print("  ->")
            exec(compile(code, f"<demo step {number}>", "exec"), namespace)
    sanity_check()
    print(f"\ndemo done in {time.perf_counter() - start:.1f} s")


# -- sanity check (issue 14): the demo table next to gensim's own loader ---------------------------------------

SANITY_WORDS = ("year", "people")


def sanity_check() -> None:
    """Neighbours and WordSim353 from vecload next to gensim's figures on the same files; an exact export."""
    import numpy as np
    import vecload
    from gensim.models import KeyedVectors

    print("\n== sanity check: vecload next to gensim's own loader")
    vectors, kv = vecload.load(OUT / "glove.pth"), KeyedVectors.load_word2vec_format(DATA / "test_glove.txt", no_header=True)
    for word in SANITY_WORDS:
        ours, theirs = vectors.most_similar(word, topn=4), kv.most_similar(word, topn=4)
        print(f"nearest to {word!r}: vecload {', '.join(f'{w} {s:.3f}' for w, s in ours)}")
        print(f"{'':{len(word) + 14}}gensim  {', '.join(f'{w} {s:.3f}' for w, s in theirs)}")
    wordsim = DATA / "wordsim353.tsv"
    for name, table in (("glove.pth", vectors), ("lee_fasttext.vec", vecload.load(DATA / "lee_fasttext.vec"))):
        pairs = vecload.evaluate(table, similarity=[wordsim], analogies=False)["similarity"][0]
        reference = KeyedVectors.load_word2vec_format(DATA / "lee_fasttext.vec") if table is not vectors else kv
        try:
            gensim_rho = f"{reference.evaluate_word_pairs(wordsim)[1][0]:.4f}"
        except ValueError:
            gensim_rho = "refuses (no pair known)"
        ours = f"{pairs['spearman']:.4f}" if pairs["scored"] else "none (no pair known)"
        print(f"WordSim353 Spearman on {name} ({len(table)} words, {pairs['scored']} of {pairs['pairs']} pairs): "
              f"vecload {ours}, gensim {gensim_rho}")
    done = vecload.export(vectors, OUT / "glove.vec", force=True)
    back = vecload.load(OUT / "glove.vec")
    same = back.tokens == vectors.tokens and np.array_equal(back.vectors.numpy().view(np.uint32),
                                                             vectors.vectors.numpy().view(np.uint32))
    print(f"export -> {done.files[0].name} ({done.format}) -> load: {'bit-identical' if same else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
