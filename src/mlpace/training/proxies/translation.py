"""``translation``: a small Transformer encoder-decoder on a seeded synthetic language pair.

The source "language" is a tiny SVO grammar: ``NP verb NP`` with ``NP = determiner adjective*
noun`` (0-2 adjectives). The target language is SOV with adjectives after the noun, in
reverse order: ``NP' NP' verb'`` with ``NP' = determiner' noun' adjective'*``, every word
replaced through a fixed random bijection of the vocabularies. So a model must learn a
lexicon *and* long-distance reordering (the verb jumps past the whole object phrase), the two
things attention does in real translation. Everything (lexicon, training and validation
pairs) comes from a fixed data seed; the run seed only drives initialisation and shuffling.

Quality: greedy decoding of the validation sources; the output ids are detokenised to
space-separated words and scored against the references with sacrebleu's corpus BLEU.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from mlpace.errors import MissingDependencyError, TrainingError
from mlpace.training.distributed import SINGLE, DistContext
from mlpace.training.proxies.base import BASE_LR, GLOBAL_BATCH_SIZE, Hyperparameters, shard_range
from mlpace.training.proxies.ncf import AdamFamily

DATA_SEED = 20_170_612  # "Attention is all you need" arXiv date; independent of run seeds
N_TRAIN = 6000
N_VALIDATION = 500
N_DET, N_ADJ, N_NOUN, N_VERB = 4, 12, 20, 12
MAX_ADJ = 2
MAX_WORDS = 2 * (2 + MAX_ADJ) + 1  # 9 words: two full noun phrases and a verb
PAD, BOS, EOS = 0, 1, 2
N_SPECIAL = 3
D_MODEL, N_HEADS, D_FF, N_LAYERS = 64, 4, 128, 2


class TranslationData:
    def __init__(
        self,
        train_src: torch.Tensor,
        train_tgt: torch.Tensor,
        val_src: torch.Tensor,
        val_refs: list[str],
        tgt_words: list[str],
    ) -> None:
        self.train_src = train_src  # (N, MAX_WORDS + 1): ids, EOS, PAD
        self.train_tgt = train_tgt  # (N, MAX_WORDS + 2): BOS, ids, EOS, PAD
        self.val_src = val_src
        self.val_refs = val_refs  # detokenised reference sentences
        self.tgt_words = tgt_words  # id - N_SPECIAL -> word


def _vocabularies() -> tuple[list[str], list[str]]:
    src = (
        [f"d{i}" for i in range(N_DET)]
        + [f"a{i}" for i in range(N_ADJ)]
        + [f"n{i}" for i in range(N_NOUN)]
        + [f"v{i}" for i in range(N_VERB)]
    )
    tgt = [f"w{i:02d}" for i in range(len(src))]
    return src, tgt


SRC_VOCAB = len(_vocabularies()[0]) + N_SPECIAL
TGT_VOCAB = len(_vocabularies()[1]) + N_SPECIAL


def generate_pairs(
    n: int = N_TRAIN + N_VALIDATION, seed: int = DATA_SEED
) -> tuple[list[list[str]], list[list[str]]]:
    """``n`` (source words, target words) pairs of the synthetic language."""
    rng = np.random.default_rng(seed)
    src_words, tgt_words = _vocabularies()
    lexicon = dict(zip(src_words, (tgt_words[int(i)] for i in rng.permutation(len(tgt_words)))))

    def noun_phrase() -> tuple[list[str], list[str]]:
        det = f"d{rng.integers(N_DET)}"
        adjs = [f"a{int(a)}" for a in rng.integers(N_ADJ, size=int(rng.integers(0, MAX_ADJ + 1)))]
        noun = f"n{rng.integers(N_NOUN)}"
        source = [det, *adjs, noun]
        target = [lexicon[det], lexicon[noun], *(lexicon[a] for a in reversed(adjs))]
        return source, target

    sources: list[list[str]] = []
    targets: list[list[str]] = []
    for _ in range(n):
        s1, t1 = noun_phrase()
        s2, t2 = noun_phrase()
        verb = f"v{rng.integers(N_VERB)}"
        sources.append([*s1, verb, *s2])
        targets.append([*t1, *t2, lexicon[verb]])
    return sources, targets


def load_data() -> TranslationData:
    sources, targets = generate_pairs()
    src_words, tgt_words = _vocabularies()
    s_id = {w: i + N_SPECIAL for i, w in enumerate(src_words)}
    t_id = {w: i + N_SPECIAL for i, w in enumerate(tgt_words)}

    def encode(words: list[str], ids: dict[str, int], bos: bool, width: int) -> list[int]:
        out = ([BOS] if bos else []) + [ids[w] for w in words] + [EOS]
        return out + [PAD] * (width - len(out))

    src = torch.tensor([encode(s, s_id, False, MAX_WORDS + 1) for s in sources])
    tgt = torch.tensor([encode(t, t_id, True, MAX_WORDS + 2) for t in targets])
    refs = [" ".join(t) for t in targets[N_TRAIN:]]
    return TranslationData(src[:N_TRAIN], tgt[:N_TRAIN], src[N_TRAIN:], refs, tgt_words)


def _causal_mask(n: int) -> torch.Tensor:
    return torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)


class Seq2SeqTransformer(nn.Module):
    """Pre-norm-free base Transformer (post-norm, as Vaswani et al.), learned positions."""

    def __init__(self, *, sparse: bool = False) -> None:
        super().__init__()
        self.src_embed = nn.Embedding(SRC_VOCAB, D_MODEL, sparse=sparse)
        self.tgt_embed = nn.Embedding(TGT_VOCAB, D_MODEL, sparse=sparse)
        self.pos_embed = nn.Embedding(MAX_WORDS + 2, D_MODEL)
        enc_layer = nn.TransformerEncoderLayer(
            D_MODEL, N_HEADS, D_FF, dropout=0.0, batch_first=True
        )
        dec_layer = nn.TransformerDecoderLayer(
            D_MODEL, N_HEADS, D_FF, dropout=0.0, batch_first=True
        )
        # Nested tensors only pay off for long padded batches; they also warn on every call.
        self.encoder = nn.TransformerEncoder(enc_layer, N_LAYERS, enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(dec_layer, N_LAYERS)
        self.out = nn.Linear(D_MODEL, TGT_VOCAB)

    def _embed(self, table: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
        pos = self.pos_embed(torch.arange(ids.shape[1]))
        emb: torch.Tensor = table(ids) * math.sqrt(D_MODEL) + pos[None]
        return emb

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        memory: torch.Tensor = self.encoder(
            self._embed(self.src_embed, src), src_key_padding_mask=src == PAD
        )
        return memory

    def decode(self, memory: torch.Tensor, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        h = self.decoder(
            self._embed(self.tgt_embed, tgt_in),
            memory,
            tgt_mask=_causal_mask(tgt_in.shape[1]),
            tgt_key_padding_mask=tgt_in == PAD,
            memory_key_padding_mask=src == PAD,
        )
        logits: torch.Tensor = self.out(h)
        return logits

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(src), src, tgt_in)

    def greedy(self, src: torch.Tensor, max_len: int = MAX_WORDS + 1) -> torch.Tensor:
        memory = self.encode(src)
        ys = torch.full((src.shape[0], 1), BOS, dtype=torch.long)
        done = torch.zeros(src.shape[0], dtype=torch.bool)
        for _ in range(max_len):
            # No padding mask on the prefix: every decoded position is real.
            h = self.decoder(
                self._embed(self.tgt_embed, ys),
                memory,
                tgt_mask=_causal_mask(ys.shape[1]),
                memory_key_padding_mask=src == PAD,
            )
            nxt = self.out(h[:, -1]).argmax(-1)
            ys = torch.cat([ys, nxt[:, None]], dim=1)
            done |= nxt == EOS
            if bool(done.all()):
                break
        return ys


class TranslationTrainer:
    """Adam (or lazy Adam) with linear warmup then constant learning rate; label smoothing 0.1."""

    def __init__(
        self, hyperparameters: Hyperparameters, *, seed: int, dist: DistContext = SINGLE
    ) -> None:
        self.hp = dict(hyperparameters)
        self.seed = seed
        self.dist = dist
        self.gbs = int(self.hp[GLOBAL_BATCH_SIZE])
        self.model: Seq2SeqTransformer | None = None
        self.optimizer: AdamFamily | None = None
        self.data: TranslationData | None = None
        self._step = 0

    def build(self) -> None:
        try:
            import sacrebleu  # noqa: F401  # fail before the clock starts, not at the first eval
        except ImportError:
            raise MissingDependencyError("sacrebleu", "train") from None
        torch.manual_seed(self.seed)
        name = str(self.hp["opt_name"])
        self.model = Seq2SeqTransformer(sparse=name == "lazy_adam")
        self.optimizer = AdamFamily(
            self.model,
            name=name,
            lr=float(self.hp[BASE_LR]),
            betas=(float(self.hp["opt_adam_beta_1"]), float(self.hp["opt_adam_beta_2"])),
            eps=float(self.hp["opt_adam_epsilon"]),
        )

    def load_data(self) -> None:
        self.data = load_data()

    def _lr(self) -> float:
        warmup = int(self.hp["opt_learning_rate_warmup_steps"])
        base = float(self.hp[BASE_LR])
        return base if warmup <= 0 else base * min(1.0, self._step / warmup)

    def train_epoch(self, epoch: int) -> int:
        if self.model is None or self.optimizer is None or self.data is None:
            raise TrainingError("translation: build() and load_data() must run before training")
        src, tgt = self.data.train_src, self.data.train_tgt
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        perm = torch.randperm(len(src), generator=gen)
        steps = len(src) // self.gbs
        lo, hi = shard_range(self.gbs, self.dist.rank, self.dist.world_size)
        smoothing = float(self.hp["label_smoothing"])
        self.model.train()
        for step in range(steps):
            idx = perm[step * self.gbs + lo : step * self.gbs + hi]
            self._step += 1
            self.optimizer.set_lr(self._lr())
            self.optimizer.zero_grad()
            s, t = src[idx], tgt[idx]
            logits = self.model(s, t[:, :-1])
            loss = nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]),
                t[:, 1:].reshape(-1),
                ignore_index=PAD,
                label_smoothing=smoothing,
            )
            loss.backward()  # type: ignore[no-untyped-call]  # torch stubs leave it untyped
            self.dist.allreduce_gradients(self.model)
            self.optimizer.step()
        return steps * self.gbs

    def translate(self, src: torch.Tensor) -> list[str]:
        """Greedy translations of ``src`` rows, detokenised."""
        if self.model is None or self.data is None:
            raise TrainingError("translation: build() and load_data() must run before decoding")
        self.model.eval()
        with torch.no_grad():
            ys = self.model.greedy(src)
        words = self.data.tgt_words
        out = []
        for row in ys.tolist():
            toks: list[str] = []
            for tok in row[1:]:
                if tok == EOS:
                    break
                toks.append(words[tok - N_SPECIAL] if tok >= N_SPECIAL else "<unk>")
            out.append(" ".join(toks))
        return out

    def evaluate(self) -> float:
        if self.data is None:
            raise TrainingError("translation: load_data() must run before evaluation")
        import sacrebleu

        lo, hi = shard_range(len(self.data.val_src), self.dist.rank, self.dist.world_size)
        hyps = self.dist.gather_strings(self.translate(self.data.val_src[lo:hi]))
        score: Any = sacrebleu.corpus_bleu(hyps, [self.data.val_refs])
        return float(score.score)
