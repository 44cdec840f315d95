"""COCO mAP with pycocotools, with the output line of the official ``accuracy-coco.py``.

Payload: float32 records of 7 values ``[image_idx, ymin, xmin, ymax, xmax, score, class]``,
coordinates normalized to [0, 1] (the MLPerf SSD reference harness). ``image_idx`` and the
qsl_idx index ``images`` of the annotations file in file order. ``use_inv_map`` maps a
contiguous class index (1..80) to the COCO category id, as the official ``--use-inv-map``.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlpace.errors import DatasetError, MissingDependencyError
from mlpace.workloads.accuracy.common import (
    AccuracyLog,
    decode_hex,
    entries_in_range,
    read_accuracy_log,
)

__all__ = ["CocoResult", "coco_map", "load_coco_annotations"]

RECORD_FLOATS = 7


@dataclass(frozen=True)
class CocoResult:
    map_percent: float  # COCO mAP@[.5:.95] × 100
    detections: int
    images: int  # distinct samples in the log
    no_results: int  # samples whose payload held no detection
    missing: tuple[int, ...] = ()
    index_mismatches: int = 0  # records whose image_idx differs from the entry's qsl_idx
    summary: str = ""  # pycocotools' own printout (evaluate/accumulate/summarize)

    @property
    def line(self) -> str:
        """``mAP=37.552%``."""
        return f"mAP={self.map_percent:.3f}%"


def load_coco_annotations(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{p}: COCO annotations file not found") from None
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{p}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list):
        raise DatasetError(f"{p}: not a COCO annotations file (no 'images' list)")
    return doc


def coco_map(
    log: AccuracyLog | str | Path,
    annotations: Mapping[str, Any] | str | Path,
    *,
    use_inv_map: bool = False,
    output_file: str | Path | None = None,
) -> CocoResult:
    """mAP of the detections in ``log`` against the ground truth ``annotations``."""
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError as exc:
        raise MissingDependencyError("pycocotools", "accuracy") from exc

    acc_log = log if isinstance(log, AccuracyLog) else read_accuracy_log(log)
    doc = (
        dict(annotations)
        if isinstance(annotations, Mapping)
        else (load_coco_annotations(annotations))
    )
    doc.setdefault("info", {})
    doc.setdefault("licenses", [])
    images = doc["images"]
    unique = acc_log.unique()
    entries_in_range(unique.values(), len(images), acc_log.path)

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        gt = COCO()
        gt.dataset = doc
        gt.createIndex()
    inv_map = [0, *gt.getCatIds()]

    detections: list[dict[str, Any]] = []
    image_ids: set[int] = set()
    no_results = 0
    mismatches = 0
    for idx, entry in unique.items():
        data = decode_hex(entry.data, "float32", where=f"{acc_log.path}:{entry.line}: ")
        if data.size % RECORD_FLOATS:
            raise DatasetError(
                f"{acc_log.path}:{entry.line}: {data.size} floats is not a whole number of "
                f"{RECORD_FLOATS}-value detection records"
            )
        if data.size == 0:
            no_results += 1
            continue
        image = images[idx]
        width, height = float(image["width"]), float(image["height"])
        for rec in data.reshape(-1, RECORD_FLOATS).astype(np.float64):
            image_idx, ymin, xmin, ymax, xmax, score, label = rec
            if int(image_idx) != idx:
                mismatches += 1
            cls = int(label)
            if use_inv_map:
                if not 0 <= cls < len(inv_map):
                    raise DatasetError(
                        f"{acc_log.path}:{entry.line}: class {cls} outside the "
                        f"{len(inv_map) - 1} categories"
                    )
                cls = inv_map[cls]
            x0, y0 = xmin * width, ymin * height
            detections.append(
                {
                    "image_id": int(image["id"]),
                    "category_id": cls,
                    "bbox": [x0, y0, xmax * width - x0, ymax * height - y0],
                    "score": float(score),
                }
            )
            image_ids.add(int(image["id"]))
    if output_file is not None:
        Path(output_file).write_text(json.dumps(detections, indent=1), encoding="utf-8")

    map_fraction = 0.0
    if detections:
        with contextlib.redirect_stdout(buf):
            dt = gt.loadRes(detections)
            ev = COCOeval(gt, dt, iouType="bbox")
            ev.params.imgIds = sorted(image_ids)
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        map_fraction = float(ev.stats[0])
    return CocoResult(
        map_percent=100.0 * max(map_fraction, 0.0),
        detections=len(detections),
        images=len(unique),
        no_results=no_results,
        missing=tuple(acc_log.missing(len(images))),
        index_mismatches=mismatches,
        summary=buf.getvalue(),
    )
