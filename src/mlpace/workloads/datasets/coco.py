"""COCO 2017 validation: ``annotations/instances_val2017.json`` plus the ``val2017/`` images.

Sample i is ``images[i]`` of the annotations file, in file order; that is the index the
accuracy log's ``qsl_idx`` and the detection records' ``image_idx`` refer to (as in the
MLPerf SSD reference harness). Two preprocessing recipes, chosen by ``image_size_px``:

* 300 (SSD-MobileNet): resize to 300×300, scale pixels to [-1, 1];
* 1200 (SSD-ResNet34): resize to 1200×1200, ImageNet mean/std normalization.

Both produce NCHW float32.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlpace.errors import DatasetError
from mlpace.workloads.datasets.imagenet import decode_image, resize_bilinear

__all__ = ["CocoDataset", "CocoImage", "preprocess_coco", "read_coco_annotations"]

_MEAN = np.asarray((123.675, 116.28, 103.53), dtype=np.float32)
_STD = np.asarray((58.395, 57.12, 57.375), dtype=np.float32)


@dataclass(frozen=True)
class CocoImage:
    """Ground truth of one image: the COCO id, size and its boxes ([x, y, w, h] in pixels)."""

    image_id: int
    file_name: str
    width_px: int
    height_px: int
    boxes_xywh_px: tuple[tuple[float, float, float, float], ...]
    category_ids: tuple[int, ...]


def preprocess_coco(img: np.ndarray, image_size_px: int) -> np.ndarray:
    resized = resize_bilinear(img, image_size_px, image_size_px)
    if image_size_px <= 300:
        out = resized / np.float32(127.5) - np.float32(1.0)
    else:
        out = (resized - _MEAN) / _STD
    return np.ascontiguousarray(out.transpose(2, 0, 1), dtype=np.float32)


def _need(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise DatasetError(f"{where}: missing key {key!r}")
    val = obj[key]
    if not isinstance(val, kind) or isinstance(val, bool):
        raise DatasetError(
            f"{where}.{key}: expected {getattr(kind, '__name__', kind)}, got {val!r:.60}"
        )
    return val


def read_coco_annotations(path: str | Path) -> tuple[list[CocoImage], dict[str, Any]]:
    """The images (file order) with their boxes, and the raw JSON (for pycocotools)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"{p}: COCO annotations file not found") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{p}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    images = _need(doc, "images", list, str(p))
    anns = _need(doc, "annotations", list, str(p))
    _need(doc, "categories", list, str(p))
    boxes: dict[int, list[tuple[float, float, float, float]]] = {}
    cats: dict[int, list[int]] = {}
    for k, ann in enumerate(anns):
        where = f"{p}: annotations[{k}]"
        image_id = _need(ann, "image_id", int, where)
        bbox = _need(ann, "bbox", list, where)
        if len(bbox) != 4 or not all(isinstance(v, (int, float)) for v in bbox):
            raise DatasetError(f"{where}.bbox: expected [x, y, w, h], got {bbox!r:.60}")
        boxes.setdefault(image_id, []).append(
            (float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3]))
        )
        cats.setdefault(image_id, []).append(_need(ann, "category_id", int, where))
    out: list[CocoImage] = []
    for k, img in enumerate(images):
        where = f"{p}: images[{k}]"
        image_id = _need(img, "id", int, where)
        out.append(
            CocoImage(
                image_id=image_id,
                file_name=_need(img, "file_name", str, where),
                width_px=_need(img, "width", int, where),
                height_px=_need(img, "height", int, where),
                boxes_xywh_px=tuple(boxes.get(image_id, [])),
                category_ids=tuple(cats.get(image_id, [])),
            )
        )
    if not out:
        raise DatasetError(f"{p}: no images")
    return out, doc


class CocoDataset:
    """COCO-format detection set: ``root/annotations/instances_val2017.json``, ``root/val2017``."""

    synthetic = False

    def __init__(
        self,
        root: str | Path,
        *,
        image_size_px: int = 300,
        annotations: str | Path | None = None,
        images_dir: str | Path | None = None,
        count: int | None = None,
        name: str = "coco",
    ) -> None:
        self.root = Path(root)
        self.annotations = (
            Path(annotations)
            if annotations is not None
            else self.root / "annotations" / "instances_val2017.json"
        )
        self.images_dir = Path(images_dir) if images_dir is not None else self.root / "val2017"
        images, _ = read_coco_annotations(self.annotations)
        if count is not None:
            images = images[:count]
        for k, im in enumerate(images):
            if not (self.images_dir / im.file_name).is_file():
                raise DatasetError(
                    f"{self.annotations}: images[{k}]: file {im.file_name!r} not "
                    f"found in {self.images_dir}"
                )
        self.images = tuple(images)
        self.image_size_px = image_size_px
        self.name = name
        self.size = len(images)
        self._cache: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    def _one(self, index: int) -> np.ndarray:
        cached = self._cache.get(index)
        if cached is not None:
            return cached
        if not 0 <= index < self.size:
            raise DatasetError(f"{self.name}: sample index {index} outside 0..{self.size - 1}")
        img = decode_image(self.images_dir / self.images[index].file_name)
        return preprocess_coco(img, self.image_size_px)

    def get_samples(self, indices: Sequence[int]) -> np.ndarray:
        return np.stack([self._one(int(i)) for i in indices])

    def label(self, index: int) -> CocoImage:
        return self.images[index]

    def load(self, indices: Sequence[int]) -> None:
        for i in indices:
            arr = self._one(int(i))
            with self._lock:
                self._cache[int(i)] = arr

    def unload(self, indices: Sequence[int]) -> None:
        with self._lock:
            for i in indices:
                self._cache.pop(int(i), None)
