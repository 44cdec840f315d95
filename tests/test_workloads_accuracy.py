"""Accuracy scripts on hand-built mlperf_log_accuracy.json files with known answers."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from mlpace.errors import DatasetError
from mlpace.workloads.accuracy.__main__ import main
from mlpace.workloads.accuracy.bleu import bleu_score
from mlpace.workloads.accuracy.coco import coco_map
from mlpace.workloads.accuracy.common import decode_hex, read_accuracy_log
from mlpace.workloads.accuracy.criteo import criteo_auc, roc_auc
from mlpace.workloads.accuracy.encoder import encoder_agreement
from mlpace.workloads.accuracy.imagenet import imagenet_accuracy
from mlpace.workloads.accuracy.squad import (
    exact_match_score,
    f1_score,
    normalize_answer,
    squad_scores,
)
from mlpace.workloads.datasets.squad import SquadDataset
from test_workloads_datasets import coco_fixture, squad_fixture


def log_text(entries: Sequence[tuple[int, bytes]]) -> str:
    """The LoadGen's exact layout: '[', one entry per line joined by ',\\n', then '\\n]\\n'."""
    lines = [
        f'{{ "seq_id" : {seq}, "qsl_idx" : {idx}, "data" : "{data.hex().upper()}" }}'
        for seq, (idx, data) in enumerate(entries)
    ]
    return "[\n" + ",\n".join(lines) + "\n]\n"


def write_log(path: Path, entries: Sequence[tuple[int, bytes]]) -> Path:
    path.write_text(log_text(entries))
    return path


def f32(*values: float) -> bytes:
    return np.asarray(values, dtype="<f4").tobytes()


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


# ------------------------------------------------------------------ reading the log


def test_read_complete_log_and_dedupe(tmp_path: Path) -> None:
    p = write_log(tmp_path / "a.json", [(3, f32(1)), (1, f32(2)), (3, f32(9))])
    log = read_accuracy_log(p)
    assert not log.partial and log.duplicates == 1 and len(log.entries) == 3
    assert list(log.unique()) == [3, 1]
    assert decode_hex(log.unique()[3].data, "float32").tolist() == [1.0]  # first one wins
    assert log.missing(5) == [0, 2, 4]
    assert log.entries[1].line == 3


def test_read_empty_log(tmp_path: Path) -> None:
    p = tmp_path / "e.json"
    p.write_text("[\n]\n")
    assert read_accuracy_log(p).entries == ()
    p.write_text("")
    with pytest.raises(DatasetError, match="empty"):
        read_accuracy_log(p)


def test_read_crash_cut_log(tmp_path: Path) -> None:
    text = log_text([(i, f32(i)) for i in range(5)])
    p = tmp_path / "cut.json"
    p.write_text(text[: text.index('"qsl_idx" : 4') + 5])  # died while writing entry 4
    log = read_accuracy_log(p)
    assert log.partial and sorted(log.unique()) == [0, 1, 2, 3] and log.skipped_lines == (6,)
    p.write_text(text[: text.rindex("\n]")] + ",\n")  # all entries, no footer
    assert sorted(read_accuracy_log(p).unique()) == [0, 1, 2, 3, 4]


def test_read_truncated_log(tmp_path: Path) -> None:
    # truncate_accuracy_log.py keeps the first and last N bytes: a broken line each side.
    text = log_text([(i, f32(*range(20))) for i in range(40)])
    p = tmp_path / "t.json"
    p.write_text(text[:1000] + text[-1000:])
    log = read_accuracy_log(p)
    assert log.partial and 1 <= len(log.skipped_lines) <= 2
    idx = sorted(log.unique())
    assert idx[0] == 0 and idx[-1] == 39 and len(idx) < 40


def test_read_garbage_is_an_error(tmp_path: Path) -> None:
    p = tmp_path / "g.json"
    p.write_text("[\nhello\nworld\nfoo\n]\n")
    with pytest.raises(DatasetError, match="not an mlperf_log_accuracy.json"):
        read_accuracy_log(p)
    p.write_text('[\n{ "seq_id" : 0, "qsl_idx" : 1, "data" : "ZZ" }\n]\n')
    with pytest.raises(DatasetError, match="g.json:2: 'data' is not valid hex"):
        read_accuracy_log(p)
    with pytest.raises(DatasetError, match="not found"):
        read_accuracy_log(tmp_path / "nope.json")


def test_decode_hex_checks_length() -> None:
    assert decode_hex(bytes.fromhex("0100000002000000"), "int32").tolist() == [1, 2]
    with pytest.raises(DatasetError, match="is --dtype right"):
        decode_hex(b"\x01\x02\x03", "float32")


# ------------------------------------------------------------------ ImageNet


def _imagenet_case(tmp_path: Path, dtype: str = "float32") -> tuple[Path, Path]:
    val = tmp_path / "val_map.txt"
    val.write_text(
        "".join(f"ILSVRC2012_val_{i:08d}.JPEG {lab}\n" for i, lab in enumerate([7, 3, 3, 999, 0]))
    )

    def enc(v: int) -> bytes:
        return np.asarray([v], dtype=dtype).tobytes()

    # 0 right, 1 wrong, 3 right, 0 again (perf-mode repeat, ignored); 2 and 4 missing.
    log = write_log(
        tmp_path / "mlperf_log_accuracy.json",
        [(0, enc(7)), (1, enc(4)), (3, enc(999)), (0, enc(1))],
    )
    return log, val


def test_imagenet_accuracy_numbers(tmp_path: Path) -> None:
    log, val = _imagenet_case(tmp_path)
    r = imagenet_accuracy(log, [7, 3, 3, 999, 0])
    assert (r.good, r.total, r.missing) == (2, 3, (2, 4))
    assert r.line == "accuracy=66.667%, good=2, total=3"
    assert r.mismatches == ((1, 4, 3),)


def test_imagenet_cli_int32(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log, val = _imagenet_case(tmp_path, "int32")
    code, out, err = run_cli(
        [
            "imagenet",
            "--mlperf-accuracy-file",
            str(log),
            "--imagenet-val-file",
            str(val),
            "--dtype",
            "int32",
        ],
        capsys,
    )
    assert code == 0 and out == "accuracy=66.667%, good=2, total=3\n"
    assert "2 of 5 samples have no result" in err and "repeat a qsl_idx" in err


def test_imagenet_cli_as_a_module(tmp_path: Path) -> None:
    log, val = _imagenet_case(tmp_path)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlpace.workloads.accuracy",
            "imagenet",
            "--mlperf-accuracy-file",
            str(log),
            "--imagenet-val-file",
            str(val),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "accuracy=66.667%, good=2, total=3\n"


def test_imagenet_out_of_range_index(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write_log(tmp_path / "l.json", [(9, f32(1))])
    val = tmp_path / "v.txt"
    val.write_text("a 1\n")
    code, out, err = run_cli(
        ["imagenet", "--mlperf-accuracy-file", str(log), "--imagenet-val-file", str(val)], capsys
    )
    assert code == 2 and out == "" and "qsl_idx 9 is outside the data set of 1" in err


# ------------------------------------------------------------------ COCO


def _detections(doc: dict[str, object], inv: bool = False) -> list[tuple[int, bytes]]:
    """Predictions equal to the ground truth, as [idx, ymin, xmin, ymax, xmax, score, class]."""
    images = doc["images"]
    anns = doc["annotations"]
    cat_index = {1: 1, 3: 2}  # contiguous index of each category id (the --use-inv-map input)
    out = []
    for k, im in enumerate(images):  # type: ignore[arg-type]
        recs: list[float] = []
        for a in anns:  # type: ignore[attr-defined]
            if a["image_id"] != im["id"]:
                continue
            x, y, w, h = a["bbox"]
            cls = cat_index[a["category_id"]] if inv else a["category_id"]
            recs += [
                k,
                y / im["height"],
                x / im["width"],
                (y + h) / im["height"],
                (x + w) / im["width"],
                0.9,
                cls,
            ]
        out.append((k, f32(*recs)))
    return out


@pytest.mark.parametrize("inv", [False, True])
def test_coco_perfect_predictions_score_100(tmp_path: Path, inv: bool) -> None:
    doc = coco_fixture(tmp_path)
    log = write_log(tmp_path / "acc.json", _detections(doc, inv))
    r = coco_map(log, tmp_path / "annotations" / "instances_val2017.json", use_inv_map=inv)
    assert r.line == "mAP=100.000%"
    assert (r.detections, r.images, r.missing, r.index_mismatches) == (4, 3, (), 0)


def test_coco_partial_predictions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = coco_fixture(tmp_path)
    dets = _detections(doc)
    # Image 2: predict the wrong class (car instead of person); image 1: no detections.
    wrong = np.frombuffer(dets[2][1], dtype="<f4").copy()
    wrong[6] = 3
    entries = [dets[0], (1, b""), (2, wrong.tobytes())]
    log = write_log(tmp_path / "acc.json", entries)
    r = coco_map(log, doc)
    assert r.no_results == 1 and 0.0 < r.map_percent < 100.0
    code, out, _ = run_cli(
        ["coco", "--mlperf-accuracy-file", str(log), "--coco-dir", str(tmp_path)], capsys
    )
    assert code == 0 and out.splitlines()[-1] == r.line
    assert "Average Precision" in out  # pycocotools' summary, as the official script shows


def test_coco_bad_record_size(tmp_path: Path) -> None:
    doc = coco_fixture(tmp_path)
    log = write_log(tmp_path / "acc.json", [(0, f32(1, 2, 3))])
    with pytest.raises(DatasetError, match="7-value detection records"):
        coco_map(log, doc)


# ------------------------------------------------------------------ SQuAD


def test_squad_normalization_and_scores() -> None:
    assert normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert normalize_answer("an apple, a pear") == "apple pear"
    assert exact_match_score("the Broncos.", "Broncos")
    assert f1_score("Denver Broncos team", "The Denver Broncos") == pytest.approx(0.8)
    assert f1_score("nothing", "Broncos") == 0.0


def _span_logits(ds: SquadDataset, idx: int, start_word: int, end_word: int) -> bytes:
    n_q = len(ds.questions[idx].question.split())
    first = n_q + 2  # [CLS] question [SEP]
    logits = np.zeros((ds.max_seq_length, 2), dtype="<f4")
    logits[first + start_word, 0] = 10.0
    logits[first + end_word, 1] = 10.0
    return logits.tobytes()


def test_squad_em_f1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    squad_fixture(tmp_path / "dev.json")
    ds = SquadDataset(tmp_path / "dev.json")
    # q1: words 6..7 = "Levi's Stadium" (exact); q2: words 13..14 = "Denver Broncos" (EM after
    # article removal). Then q2 again with a wrong span, to check first-wins dedupe.
    log = write_log(
        tmp_path / "acc.json",
        [
            (0, _span_logits(ds, 0, 6, 7)),
            (1, _span_logits(ds, 1, 13, 14)),
            (1, _span_logits(ds, 1, 0, 1)),
        ],
    )
    r = squad_scores(log, ds)
    assert r.predictions == {"q1": "Levi's Stadium", "q2": "Denver Broncos"}
    assert (r.exact_match, r.f1) == (100.0, 100.0)
    assert r.line == '{"exact_match": 100.0, "f1": 100.0}'
    # q2 answered "won the game." → EM 0, F1 0 ("game" not in the answer); q1 exact: 50 / 50.
    log2 = write_log(
        tmp_path / "acc2.json", [(0, _span_logits(ds, 0, 6, 7)), (1, _span_logits(ds, 1, 15, 17))]
    )
    r2 = squad_scores(log2, ds)
    assert r2.predictions["q2"] == "won the game."
    assert (r2.exact_match, r2.f1) == (50.0, 50.0)
    # Partial overlap: "Santa Clara, California. The" vs the long q1 answer.
    log3 = write_log(tmp_path / "acc3.json", [(0, _span_logits(ds, 0, 9, 11))])
    r3 = squad_scores(log3, ds)
    assert r3.predictions["q1"] == "Santa Clara, California."
    # vs "Levi's Stadium in Santa Clara, California": p=3/3, r=3/6 → F1 = 2/3; q2 missing → 0.
    assert r3.exact_match == 0.0 and r3.f1 == pytest.approx(100.0 * (2 / 3) / 2)
    assert r3.missing == (1,)
    code, out, err = run_cli(
        ["squad", "--log_file", str(log3), "--val_data", str(tmp_path / "dev.json")], capsys
    )
    assert code == 0 and json.loads(out) == {"exact_match": 0.0, "f1": r3.f1}
    assert "1 of 2 samples have no result" in err


def test_squad_wrong_payload_size(tmp_path: Path) -> None:
    squad_fixture(tmp_path / "dev.json")
    log = write_log(tmp_path / "acc.json", [(0, f32(1, 2))])
    with pytest.raises(DatasetError, match=r"expected 768 float32 logits"):
        squad_scores(log, tmp_path / "dev.json")


# ------------------------------------------------------------------ Criteo AUC


def test_roc_auc_matches_sklearn_with_ties() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    for n in (10, 1000, 20000):
        y = rng.integers(0, 2, n)
        s = np.round(rng.random(n) + 0.3 * y, 1)  # coarse rounding → many ties
        assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert roc_auc([0, 1], [0.5, 0.5]) == 0.5
    with pytest.raises(DatasetError, match="all labels are the same"):
        roc_auc([1, 1], [0.1, 0.2])


def test_criteo_pairs_and_label_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # (score, label) pairs; qsl 1 holds two samples (an aggregated query), qsl 0 repeats.
    log = write_log(
        tmp_path / "acc.json",
        [
            (0, f32(0.9, 1, 0.2, 0)),
            (1, f32(0.4, 1, 0.7, 0)),
            (0, f32(0.0, 1)),
        ],
    )
    r = criteo_auc(log)
    # positives 0.9, 0.4; negatives 0.2, 0.7 → pairs won: (0.9>0.2, 0.9>0.7, 0.4>0.2) = 3/4.
    assert r.auc == 0.75 and (r.good, r.total, r.queries) == (2, 4, 2)
    assert r.line == "AUC=75.000%, accuracy=50.000%, good=2, total=4, queries=2"
    from test_workloads_datasets import CRITEO_LINES

    tsv = tmp_path / "day_23"
    tsv.write_text("\n".join([CRITEO_LINES[0], CRITEO_LINES[1], CRITEO_LINES[1]]) + "\n")
    log2 = write_log(tmp_path / "acc2.json", [(0, f32(0.3)), (1, f32(0.6)), (2, f32(0.2))])
    code, out, _ = run_cli(
        ["criteo", "--mlperf-accuracy-file", str(log2), "--day-23-file", str(tsv)], capsys
    )
    assert code == 0
    assert out == "AUC=50.000%, accuracy=66.667%, good=2, total=3, queries=3\n"


# ------------------------------------------------------------------ BLEU


def test_bleu(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sacrebleu

    refs = [
        "The cat sat on the mat .",
        "A quick brown fox jumps over the lazy dog .",
        "It is raining heavily today .",
    ]
    ref_file = tmp_path / "newstest2014.de"
    ref_file.write_text("\n".join(refs) + "\n")
    perfect = write_log(tmp_path / "p.json", [(i, r.encode()) for i, r in enumerate(refs)])
    r = bleu_score(perfect, refs)
    assert r.line == "BLEU: 100.00" and "nrefs:1" in r.signature and "tok:13a" in r.signature
    hyps = [
        "The cat sat on a mat .",
        "A fast brown fox jumps over the dog .",
        "It is raining today .",
    ]
    log = write_log(tmp_path / "h.json", [(i, h.encode()) for i, h in enumerate(hyps)])
    expected = sacrebleu.corpus_bleu(hyps, [refs]).score
    assert bleu_score(log, refs).bleu == pytest.approx(expected)
    code, out, _ = run_cli(
        ["bleu", "--mlperf-accuracy-file", str(log), "--reference", str(ref_file)], capsys
    )
    lines = out.splitlines()
    assert code == 0 and lines[0] == f"BLEU: {expected:.2f}"
    assert lines[1].startswith("sacrebleu signature: nrefs:1|")


# ------------------------------------------------------------------ encoder agreement


def test_encoder_agreement(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(3)
    ref = rng.normal(size=(4, 384)).astype(np.float32)
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    same = write_log(tmp_path / "s.json", [(i, ref[i].tobytes()) for i in range(4)])
    r = encoder_agreement(same, ref)
    assert r.line == "cosine_agreement=1.00000, good=4, total=4"
    # Sample 2 orthogonalized against its reference: cosine 0 → mean 0.75, good 3.
    v = rng.normal(size=384)
    v -= v @ ref[2] * ref[2]
    entries = [(i, ref[i].tobytes()) for i in (0, 1, 3)] + [(2, v.astype("<f4").tobytes())]
    log = write_log(tmp_path / "m.json", entries)
    r2 = encoder_agreement(log, ref)
    assert r2.good == 3 and r2.mean_cosine == pytest.approx(0.75, abs=1e-6)
    assert r2.line == "cosine_agreement=0.75000, good=3, total=4"
    np.save(tmp_path / "ref.npy", ref)
    code, out, _ = run_cli(
        [
            "encoder",
            "--mlperf-accuracy-file",
            str(log),
            "--reference-embeddings",
            str(tmp_path / "ref.npy"),
        ],
        capsys,
    )
    assert code == 0 and out == "cosine_agreement=0.75000, good=3, total=4\n"
    bad = write_log(tmp_path / "b.json", [(0, f32(1, 2))])
    with pytest.raises(DatasetError, match="embedding has 2 values, the reference 384"):
        encoder_agreement(bad, ref)
