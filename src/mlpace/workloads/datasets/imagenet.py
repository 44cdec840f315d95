"""ImageNet validation set: a folder of images plus ``val_map.txt`` ("<file> <label>" lines).

Preprocessing follows the MLPerf ResNet-50 reference: resize so the shorter side is 256 px
keeping the aspect ratio, center-crop 224×224, subtract the mean and divide by the standard
deviation per channel, and lay the result out NCHW float32.

Images are decoded with Pillow when it is installed (``pip install 'mlpace[vision]'``; JPEG needs
it). Without Pillow a small built-in decoder reads PNG (8-bit, non-interlaced), binary PPM/PGM
and ``.npy`` (HWC uint8) files, enough for fixtures and pre-converted sets. Resizing is our own
bilinear resampler, so results do not depend on which decoder ran.
"""

from __future__ import annotations

import importlib
import struct
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlpace.errors import DatasetError, MissingDependencyError

__all__ = [
    "ImageNet",
    "ImageNetDataset",
    "ImagePreprocessing",
    "center_crop",
    "decode_image",
    "preprocess_imagenet",
    "read_val_map",
    "resize_bilinear",
]

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class ImagePreprocessing:
    """Resize-crop-normalize parameters; mean/std are in 0..255 pixel units, RGB order."""

    resize_shorter_px: int = 256
    crop_px: int = 224
    mean: tuple[float, float, float] = (123.675, 116.28, 103.53)
    std: tuple[float, float, float] = (58.395, 57.12, 57.375)


# ---------------------------------------------------------------------------------------------
# decoding


def _pillow() -> Any:
    """Pillow's ``PIL.Image`` module, or None (imported by name: Pillow is optional)."""
    try:
        return importlib.import_module("PIL.Image")
    except ImportError:
        return None


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _decode_png(raw: bytes, where: str) -> np.ndarray:
    """Minimal PNG reader: 8-bit gray/gray+alpha/RGB/RGBA, no interlace (the common case)."""
    pos = len(_PNG_MAGIC)
    width = height = 0
    color_type = -1
    idat = bytearray()
    while pos + 8 <= len(raw):
        (length,) = struct.unpack(">I", raw[pos : pos + 4])
        ctype = raw[pos + 4 : pos + 8]
        body = raw[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if ctype == b"IHDR":
            width, height, depth, color_type, _comp, _filt, interlace = struct.unpack(
                ">IIBBBBB", body
            )
            if depth != 8 or interlace != 0 or color_type not in (0, 2, 4, 6):
                raise DatasetError(
                    f"{where}: PNG with bit depth {depth}, color type {color_type}, interlace "
                    f"{interlace} needs Pillow (pip install 'mlpace[vision]')"
                )
        elif ctype == b"IDAT":
            idat += body
        elif ctype == b"IEND":
            break
    if width == 0 or height == 0:
        raise DatasetError(f"{where}: PNG has no IHDR chunk")
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color_type]
    stride = width * channels
    try:
        data = zlib.decompress(bytes(idat))
    except zlib.error as exc:
        raise DatasetError(f"{where}: corrupt PNG data: {exc}") from None
    if len(data) != height * (stride + 1):
        raise DatasetError(
            f"{where}: PNG data has {len(data)} bytes, expected {height * (stride + 1)}"
        )
    rows = np.frombuffer(data, dtype=np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        ftype = int(rows[y, 0])
        line = rows[y, 1:].astype(np.int32)
        if ftype == 0:
            cur = line
        elif ftype == 1:  # Sub: running sum per channel, mod 256
            cur = np.cumsum(line.reshape(width, channels), axis=0).reshape(-1) % 256
        elif ftype == 2:  # Up
            cur = (line + prev) % 256
        elif ftype in (3, 4):  # Average / Paeth depend on the pixel just decoded: sequential
            cur_list = [0] * stride
            line_l = line.tolist()
            prev_l = prev.tolist()
            for i in range(stride):
                left = cur_list[i - channels] if i >= channels else 0
                up = prev_l[i]
                if ftype == 3:
                    pred = (left + up) // 2
                else:
                    upleft = prev_l[i - channels] if i >= channels else 0
                    pred = _paeth(left, up, upleft)
                cur_list[i] = (line_l[i] + pred) % 256
            cur = np.asarray(cur_list, dtype=np.int32)
        else:
            raise DatasetError(f"{where}: PNG row {y} has unknown filter type {ftype}")
        out[y] = cur
        prev = cur
    img = out.reshape(height, width, channels)
    if channels == 1:
        return np.repeat(img, 3, axis=2)
    if channels == 2:
        return np.repeat(img[:, :, :1], 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3])


def _decode_pnm(raw: bytes, where: str) -> np.ndarray:
    """Binary PGM (P5) / PPM (P6), maxval ≤ 255."""
    fields: list[bytes] = []
    pos = 2
    while len(fields) < 3:
        while pos < len(raw) and raw[pos : pos + 1].isspace():
            pos += 1
        if raw[pos : pos + 1] == b"#":
            while pos < len(raw) and raw[pos : pos + 1] != b"\n":
                pos += 1
            continue
        start = pos
        while pos < len(raw) and not raw[pos : pos + 1].isspace():
            pos += 1
        fields.append(raw[start:pos])
    pos += 1  # the single whitespace after maxval
    try:
        width, height, maxval = (int(f) for f in fields)
    except ValueError:
        raise DatasetError(f"{where}: malformed PNM header") from None
    if maxval > 255:
        raise DatasetError(f"{where}: 16-bit PNM is not supported")
    channels = 3 if raw[:2] == b"P6" else 1
    need = width * height * channels
    if len(raw) - pos < need:
        raise DatasetError(f"{where}: PNM data is short ({len(raw) - pos} of {need} bytes)")
    img = np.frombuffer(raw[pos : pos + need], dtype=np.uint8).reshape(height, width, channels)
    return img if channels == 3 else np.repeat(img, 3, axis=2)


def decode_image(path: str | Path) -> np.ndarray:
    """An image file as an RGB ``uint8`` array of shape (height, width, 3)."""
    p = Path(path)
    if p.suffix.lower() == ".npy":
        try:
            arr = np.load(p, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DatasetError(f"{p}: cannot read .npy image: {exc}") from exc
        if arr.ndim == 2:
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        if arr.ndim != 3 or arr.shape[2] not in (1, 3):
            raise DatasetError(
                f"{p}: .npy image must be HW or HWC with 1 or 3 channels, got shape {arr.shape}"
            )
        return np.ascontiguousarray(np.broadcast_to(arr, (*arr.shape[:2], 3)).astype(np.uint8))
    image_mod = _pillow()
    if image_mod is not None:
        try:
            with image_mod.open(p) as im:
                return np.asarray(im.convert("RGB"), dtype=np.uint8)
        except FileNotFoundError:
            raise DatasetError(f"{p}: image not found") from None
        except OSError as exc:  # UnidentifiedImageError is an OSError
            raise DatasetError(f"{p}: cannot decode image: {exc}") from exc
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{p}: image not found") from None
    if raw.startswith(_PNG_MAGIC):
        return _decode_png(raw, str(p))
    if raw[:2] in (b"P5", b"P6"):
        return _decode_pnm(raw, str(p))
    if raw[:3] == b"\xff\xd8\xff":
        raise MissingDependencyError("Pillow", "vision")
    raise DatasetError(
        f"{p}: unknown image format (PNG, PPM/PGM and .npy are read without "
        "Pillow; install mlpace[vision] for JPEG and others)"
    )


# ---------------------------------------------------------------------------------------------
# geometry


def resize_bilinear(img: np.ndarray, height_px: int, width_px: int) -> np.ndarray:
    """Bilinear resize of an HWC image with pixel-center alignment (as cv2.INTER_LINEAR)."""
    h, w = img.shape[:2]
    if (h, w) == (height_px, width_px):
        return img.astype(np.float32)

    def axis(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
        pos = np.clip(pos, 0.0, n_in - 1)
        lo = np.floor(pos).astype(np.intp)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, (pos - lo).astype(np.float32)

    y0, y1, fy = axis(h, height_px)
    x0, x1, fx = axis(w, width_px)
    src = img.astype(np.float32)
    top = src[y0][:, x0] * (1 - fx)[None, :, None] + src[y0][:, x1] * fx[None, :, None]
    bot = src[y1][:, x0] * (1 - fx)[None, :, None] + src[y1][:, x1] * fx[None, :, None]
    return np.asarray(top * (1 - fy)[:, None, None] + bot * fy[:, None, None], dtype=np.float32)


def center_crop(img: np.ndarray, height_px: int, width_px: int) -> np.ndarray:
    h, w = img.shape[:2]
    top = (h - height_px) // 2
    left = (w - width_px) // 2
    return img[top : top + height_px, left : left + width_px]


def preprocess_imagenet(
    img: np.ndarray, pre: ImagePreprocessing = ImagePreprocessing()
) -> np.ndarray:
    """RGB uint8 HWC → normalized float32 CHW (the MLPerf ResNet-50 reference recipe)."""
    h, w = img.shape[:2]
    short = pre.resize_shorter_px
    # The reference truncates the long side (int(), not round()).
    if h > w:
        new_h, new_w = int(short * h / w), short
    else:
        new_h, new_w = short, int(short * w / h)
    resized = resize_bilinear(img, new_h, new_w)
    crop = center_crop(resized, pre.crop_px, pre.crop_px)
    mean = np.asarray(pre.mean, dtype=np.float32)
    std = np.asarray(pre.std, dtype=np.float32)
    out = (crop - mean) / std
    return np.ascontiguousarray(out.transpose(2, 0, 1), dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# the data set


def read_val_map(path: str | Path) -> list[tuple[str, int]]:
    """``val_map.txt`` as (file name, label) pairs; a malformed line raises naming the line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"{p}: val_map file not found") from None
    out: list[tuple[str, int]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise DatasetError(f"{p}:{lineno}: expected '<file> <label>', got {line!r}")
        try:
            label = int(parts[1])
        except ValueError:
            raise DatasetError(f"{p}:{lineno}: label {parts[1]!r} is not an integer") from None
        if label < 0:
            raise DatasetError(f"{p}:{lineno}: label {label} is negative")
        out.append((parts[0], label))
    if not out:
        raise DatasetError(f"{p}: val_map has no entries")
    return out


class ImageNetDataset:
    """ImageNet-format classification set; sample i is line i of ``val_map.txt``."""

    synthetic = False

    def __init__(
        self,
        root: str | Path,
        *,
        val_map: str | Path | None = None,
        count: int | None = None,
        preprocessing: ImagePreprocessing = ImagePreprocessing(),
        name: str = "imagenet",
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: ImageNet folder not found")
        self.val_map = Path(val_map) if val_map is not None else self.root / "val_map.txt"
        entries = read_val_map(self.val_map)
        if count is not None:
            entries = entries[:count]
        for lineno, (fname, _) in enumerate(entries, start=1):
            if not (self.root / fname).is_file():
                raise DatasetError(
                    f"{self.val_map}:{lineno}: image {fname!r} not found in {self.root}"
                )
        self.name = name
        self.files = tuple(self.root / f for f, _ in entries)
        self.labels = np.asarray([lab for _, lab in entries], dtype=np.int64)
        self.size = len(entries)
        self.preprocessing = preprocessing
        self._cache: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    def _one(self, index: int) -> np.ndarray:
        cached = self._cache.get(index)
        if cached is not None:
            return cached
        if not 0 <= index < self.size:
            raise DatasetError(f"{self.name}: sample index {index} outside 0..{self.size - 1}")
        return preprocess_imagenet(decode_image(self.files[index]), self.preprocessing)

    def get_samples(self, indices: Sequence[int]) -> np.ndarray:
        return np.stack([self._one(int(i)) for i in indices])

    def label(self, index: int) -> int:
        return int(self.labels[index])

    def load(self, indices: Sequence[int]) -> None:
        for i in indices:
            arr = self._one(int(i))
            with self._lock:
                self._cache[int(i)] = arr

    def unload(self, indices: Sequence[int]) -> None:
        with self._lock:
            for i in indices:
                self._cache.pop(int(i), None)


#: The name the resnet50 task looks up.
ImageNet = ImageNetDataset
