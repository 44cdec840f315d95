"""``python -m mlpace.workloads.accuracy TASK --mlperf-accuracy-file F ...``.

The result line goes to stdout exactly as the official script prints it (so ``> accuracy.txt``
gives what the submission checker expects); warnings (partial log, duplicates, missing
samples) go to stderr. Exit status: 0 on success, 2 when the inputs are wrong.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from mlpace.errors import MlpaceError
from mlpace.workloads.accuracy.common import DTYPE_NAMES, read_accuracy_log, warnings_for


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m mlpace.workloads.accuracy",
        description="Score an mlperf_log_accuracy.json and print the official result line.",
    )
    sub = ap.add_subparsers(dest="task", required=True, metavar="TASK")

    def add(name: str, help_text: str, *aliases: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, aliases=list(aliases))
        p.add_argument(
            "--mlperf-accuracy-file",
            "--log_file",
            dest="log",
            required=True,
            help="path to mlperf_log_accuracy.json",
        )
        p.add_argument("--verbose", action="store_true", help="print per-sample details")
        return p

    p = add("imagenet", "top-1 accuracy (accuracy-imagenet.py)")
    p.add_argument("--imagenet-val-file", required=True, help="val_map.txt")
    p.add_argument(
        "--dtype",
        default="float32",
        choices=[d for d in DTYPE_NAMES if d != "bytes"],
        help="dtype of the logged prediction (default float32)",
    )

    p = add("coco", "COCO mAP with pycocotools (accuracy-coco.py)")
    p.add_argument("--coco-dir", help="folder holding annotations/instances_val2017.json")
    p.add_argument("--annotations", help="the annotations JSON itself (overrides --coco-dir)")
    p.add_argument(
        "--use-inv-map",
        action="store_true",
        help="map contiguous class indices to COCO category ids",
    )
    p.add_argument("--output-file", help="write the detections as COCO results JSON")

    p = add("squad", "SQuAD v1.1 exact match and F1 (accuracy-squad.py)")
    p.add_argument("--val_data", "--val-data", dest="val_data", required=True, help="dev-v1.1.json")
    p.add_argument(
        "--max_seq_length", "--max-seq-length", dest="max_seq_length", type=int, default=384
    )
    p.add_argument(
        "--out_file", "--out-file", dest="out_file", help="write predictions JSON (qas_id → text)"
    )

    p = add("criteo", "ROC AUC for DLRM on Criteo", "dlrm")
    p.add_argument(
        "--day-23-file",
        help="Criteo TSV with the labels (else (score, label) pairs are expected in the log)",
    )
    p.add_argument("--dtype", default="float32", choices=["float32", "float16", "float64"])

    p = add("bleu", "corpus BLEU with sacrebleu", "translate")
    p.add_argument("--reference", required=True, help="reference translations, one per line")
    p.add_argument("--tokenize", default="13a", help="sacrebleu tokenizer (default 13a)")

    p = add("encoder", "sentence-encoder agreement with the FP32 NumPy reference")
    p.add_argument("--sentences", help="sentence file (default: the packaged set)")
    p.add_argument("--count", type=int, help="use the first N sentences of the set")
    p.add_argument("--seed", type=int, default=0, help="sentence order seed (default 0)")
    p.add_argument(
        "--reference-embeddings",
        help=".npy of reference embeddings [N, 384] (default: computed with the NumPy reference)",
    )
    p.add_argument("--threshold", type=float, default=0.99)
    return ap


def _run(args: argparse.Namespace) -> list[str]:
    """The lines for stdout; warnings are written to stderr as they arise."""
    log = read_accuracy_log(args.log)
    task = args.task
    lines: list[str] = []
    total: int | None = None
    if task == "imagenet":
        from mlpace.workloads.accuracy.imagenet import imagenet_accuracy, read_imagenet_labels

        labels = read_imagenet_labels(args.imagenet_val_file)
        total = len(labels)
        r = imagenet_accuracy(log, labels, dtype=args.dtype)
        if args.verbose:
            lines += [f"{i}: predicted {p}, expected {e}" for i, p, e in r.mismatches]
        lines.append(r.line)
    elif task == "coco":
        from mlpace.workloads.accuracy.coco import coco_map, load_coco_annotations

        if args.annotations:
            ann_path = Path(args.annotations)
        elif args.coco_dir:
            ann_path = Path(args.coco_dir) / "annotations" / "instances_val2017.json"
        else:
            raise MlpaceError("coco needs --coco-dir or --annotations")
        doc = load_coco_annotations(ann_path)
        total = len(doc["images"])
        c = coco_map(log, doc, use_inv_map=args.use_inv_map, output_file=args.output_file)
        if c.index_mismatches:
            print(
                f"WARNING: {c.index_mismatches} detections name another image_idx than "
                "their qsl_idx",
                file=sys.stderr,
            )
        lines += [ln for ln in c.summary.splitlines() if ln.strip()]
        lines.append(c.line)
    elif task == "squad":
        from mlpace.workloads.accuracy.squad import squad_scores
        from mlpace.workloads.datasets.squad import SquadDataset

        ds = SquadDataset(args.val_data, max_seq_length=args.max_seq_length)
        total = ds.size
        s = squad_scores(log, ds, out_file=args.out_file)
        lines.append(s.line)
    elif task in ("criteo", "dlrm"):
        from mlpace.workloads.accuracy.criteo import criteo_auc

        labels_arr = None
        if args.day_23_file:
            from mlpace.workloads.datasets.criteo import read_criteo

            labels_arr = read_criteo(args.day_23_file)[0]
            total = int(labels_arr.size)
        lines.append(criteo_auc(log, labels_arr, dtype=args.dtype).line)
    elif task in ("bleu", "translate"):
        from mlpace.workloads.accuracy.bleu import bleu_score, read_references

        refs = read_references(args.reference)
        total = len(refs)
        b = bleu_score(log, refs, tokenize=args.tokenize)
        lines += [b.line, f"sacrebleu signature: {b.signature}"]
        if args.verbose:
            lines.append(b.detail)
    elif task == "encoder":
        import numpy as np

        from mlpace.workloads.accuracy.encoder import encoder_agreement

        if args.reference_embeddings:
            ref = np.load(args.reference_embeddings)
        else:
            from mlpace.workloads.datasets.sentences import SentenceDataset
            from mlpace.workloads.models.encoder import reference_embeddings
            from mlpace.workloads.models.resnet50 import default_cache_dir

            ds_s = SentenceDataset(args.sentences, count=args.count, seed=args.seed)
            ref = reference_embeddings(ds_s.packed, cache_dir=default_cache_dir())
        total = int(ref.shape[0])
        e = encoder_agreement(log, ref, threshold=args.threshold)
        if args.verbose:
            lines.append(f"min cosine {e.min_cosine:.6f}")
        lines.append(e.line)
    for w in warnings_for(log, total):
        print(w, file=sys.stderr)
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        lines = _run(args)
    except MlpaceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
