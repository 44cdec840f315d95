"""Accuracy scripts: read ``mlperf_log_accuracy.json`` and print the official result lines.

Each module has a Python function returning a frozen result (with ``.line``, the exact text
the submission checker greps) and a subcommand of ``python -m mlpace.workloads.accuracy``:

=========  ==============================  ===============================================
command    function                        printed line
=========  ==============================  ===============================================
imagenet   :func:`.imagenet.imagenet_accuracy`  ``accuracy=76.456%, good=38228, total=50000``
coco       :func:`.coco.coco_map`           ``mAP=37.552%`` (pycocotools)
squad      :func:`.squad.squad_scores`      ``{"exact_match": 83.1, "f1": 90.8}``
criteo     :func:`.criteo.criteo_auc`       ``AUC=80.312%, accuracy=.., good=.., total=..,``
                                            ``queries=..``
bleu       :func:`.bleu.bleu_score`         ``BLEU: 23.90`` + the sacrebleu signature
encoder    :func:`.encoder.encoder_agreement`  ``cosine_agreement=0.99998, good=N, total=M``
=========  ==============================  ===============================================

Every script counts each qsl_idx once (the first result: performance-mode logs repeat
samples), reads truncated or crash-cut logs, and reports samples the log never answers on
stderr. The modules import their heavy dependencies (pycocotools, sacrebleu) only when run.
"""

from mlpace.workloads.accuracy.common import (
    AccuracyEntry,
    AccuracyLog,
    decode_hex,
    read_accuracy_log,
)

__all__ = ["AccuracyEntry", "AccuracyLog", "decode_hex", "read_accuracy_log"]
