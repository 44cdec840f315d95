"""Data-set loaders on tiny fixtures written in the real on-disk formats, and the synthetic
stand-ins (seeded, same shapes, refused in accuracy mode)."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from mlpace.errors import DatasetError, MissingDependencyError
from mlpace.loadgen.enums import TestMode as Mode
from mlpace.workloads.datasets import ACCURACY_NEEDS_REAL_DATA, require_real_data
from mlpace.workloads.datasets.coco import CocoDataset, preprocess_coco
from mlpace.workloads.datasets.criteo import CriteoDataset, parse_criteo_line
from mlpace.workloads.datasets.imagenet import (
    ImageNetDataset,
    ImagePreprocessing,
    decode_image,
    preprocess_imagenet,
    resize_bilinear,
)
from mlpace.workloads.datasets.squad import (
    CLS_ID,
    SEP_ID,
    SquadDataset,
    hash_token_id,
    whitespace_tokens,
)
from mlpace.workloads.datasets.synthetic import (
    synthetic_coco,
    synthetic_criteo,
    synthetic_imagenet,
    synthetic_squad,
)

# ------------------------------------------------------------------ fixture writers (formats)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def write_png(path: Path, img: np.ndarray, filters: tuple[int, ...] = (0, 1, 2, 3, 4)) -> None:
    """A real PNG (8-bit, gray/RGB/RGBA), cycling the row filter types so the reader meets all."""
    h, w = img.shape[:2]
    ch = 1 if img.ndim == 2 else img.shape[2]
    color = {1: 0, 3: 2, 4: 6}[ch]
    rows = img.reshape(h, w * ch).astype(np.int32)
    raw = bytearray()
    prev = np.zeros(w * ch, dtype=np.int32)
    for y in range(h):
        ft = filters[y % len(filters)]
        line = rows[y]
        out = []
        for i in range(w * ch):
            left = int(line[i - ch]) if i >= ch else 0
            up = int(prev[i])
            ul = int(prev[i - ch]) if i >= ch else 0
            pred = [0, left, up, (left + up) // 2, _paeth(left, up, ul)][ft]
            out.append((int(line[i]) - pred) % 256)
        raw.append(ft)
        raw += bytes(out)
        prev = line

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(bytes(raw)))
        + chunk(b"IEND", b"")
    )


def write_ppm(path: Path, img: np.ndarray) -> None:
    h, w = img.shape[:2]
    path.write_bytes(f"P6\n# comment\n{w} {h}\n255\n".encode() + img.astype(np.uint8).tobytes())


def _rng_img(h: int, w: int, ch: int, seed: int) -> np.ndarray:
    shape = (h, w) if ch == 1 else (h, w, ch)
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


# ------------------------------------------------------------------ image decoding


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_png_decoder_every_filter(tmp_path: Path, channels: int) -> None:
    img = _rng_img(9, 7, channels, seed=channels)
    write_png(tmp_path / "x.png", img)
    got = decode_image(tmp_path / "x.png")
    assert got.shape == (9, 7, 3) and got.dtype == np.uint8
    if channels == 1:
        expect = np.repeat(img[:, :, None], 3, axis=2)
    else:
        expect = img[:, :, :3]
    np.testing.assert_array_equal(got, expect)


def test_ppm_and_npy_decoding(tmp_path: Path) -> None:
    img = _rng_img(5, 6, 3, seed=1)
    write_ppm(tmp_path / "a.ppm", img)
    np.save(tmp_path / "b.npy", img)
    np.testing.assert_array_equal(decode_image(tmp_path / "a.ppm"), img)
    np.testing.assert_array_equal(decode_image(tmp_path / "b.npy"), img)


def test_unknown_or_jpeg_without_pillow(tmp_path: Path) -> None:
    (tmp_path / "x.bin").write_bytes(b"not an image")
    with pytest.raises(DatasetError, match="x.bin"):
        decode_image(tmp_path / "x.bin")
    try:
        import PIL  # noqa: F401
    except ImportError:
        (tmp_path / "x.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 20)
        with pytest.raises(MissingDependencyError, match="vision"):
            decode_image(tmp_path / "x.jpg")


def test_resize_bilinear_keeps_a_linear_ramp_linear() -> None:
    ramp = np.tile(np.arange(8, dtype=np.float32)[None, :, None], (4, 1, 3))
    out = resize_bilinear(ramp, 4, 16)
    # Interior samples of a linear ramp resampled with centre alignment stay on the line.
    np.testing.assert_allclose(out[0, 1:-1, 0], (np.arange(1, 15) + 0.5) / 2 - 0.5, atol=1e-5)


def test_imagenet_preprocessing_shape_and_normalization() -> None:
    img = np.full((300, 450, 3), (200, 100, 50), dtype=np.uint8)
    pre = ImagePreprocessing()
    out = preprocess_imagenet(img, pre)
    assert out.shape == (3, 224, 224) and out.dtype == np.float32
    for c, v in enumerate((200, 100, 50)):
        np.testing.assert_allclose(out[c], (v - pre.mean[c]) / pre.std[c], rtol=1e-5)


def test_imagenet_center_crop_takes_the_middle() -> None:
    # Left half black, right half white, wide image: the crop straddles the boundary evenly.
    img = np.zeros((256, 512, 3), dtype=np.uint8)
    img[:, 256:] = 255
    out = preprocess_imagenet(img, ImagePreprocessing(mean=(0, 0, 0), std=(1, 1, 1)))
    assert out[0, 100, 0] == 0 and out[0, 100, 223] == 255
    assert np.sum(out[0, 0] == 0) == np.sum(out[0, 0] == 255) == 112


# ------------------------------------------------------------------ ImageNet folder


def _imagenet_folder(root: Path) -> list[np.ndarray]:
    imgs = [_rng_img(40, 60, 3, 1), _rng_img(70, 50, 1, 2), _rng_img(33, 33, 4, 3)]
    names = [
        "ILSVRC2012_val_00000001.png",
        "ILSVRC2012_val_00000002.png",
        "ILSVRC2012_val_00000003.png",
    ]
    for n, im in zip(names, imgs):
        write_png(root / n, im, filters=(0, 1, 2))
    (root / "val_map.txt").write_text(
        f"{names[0]} 65\n{names[1]} 970\n{names[2]} 230\n", encoding="utf-8"
    )
    return imgs


def test_imagenet_loader(tmp_path: Path) -> None:
    imgs = _imagenet_folder(tmp_path)
    ds = ImageNetDataset(tmp_path)
    assert (ds.name, ds.size, ds.synthetic) == ("imagenet", 3, False)
    assert [ds.label(i) for i in range(3)] == [65, 970, 230]
    batch = ds.get_samples([2, 0])
    assert batch.shape == (2, 3, 224, 224) and batch.dtype == np.float32
    rgb = imgs[0]
    np.testing.assert_allclose(batch[1], preprocess_imagenet(rgb), rtol=1e-6)
    ds.load([0, 1])
    np.testing.assert_array_equal(ds.get_samples([0])[0], batch[1])
    ds.unload([0, 1])
    assert ImageNetDataset(tmp_path, count=2).size == 2
    require_real_data(ds, Mode.AccuracyOnly)  # real data passes


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("onlyonefield", "val_map.txt:2: expected '<file> <label>'"),
        ("b.png cat", "val_map.txt:2: label 'cat' is not an integer"),
        ("b.png -1", "val_map.txt:2: label -1 is negative"),
        ("missing.png 3", "val_map.txt:2: image 'missing.png' not found"),
    ],
)
def test_imagenet_malformed_val_map(tmp_path: Path, line: str, match: str) -> None:
    write_png(tmp_path / "a.png", _rng_img(4, 4, 3, 0))
    write_png(tmp_path / "b.png", _rng_img(4, 4, 3, 0))
    (tmp_path / "val_map.txt").write_text(f"a.png 1\n{line}\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=match):
        ImageNetDataset(tmp_path)


# ------------------------------------------------------------------ COCO


def coco_fixture(root: Path) -> dict[str, object]:
    (root / "annotations").mkdir(parents=True)
    (root / "val2017").mkdir()
    doc = {
        "info": {"description": "tiny"},
        "images": [
            {"id": 139, "file_name": "000000000139.png", "width": 64, "height": 48},
            {"id": 285, "file_name": "000000000285.png", "width": 40, "height": 40},
            {"id": 632, "file_name": "000000000632.png", "width": 50, "height": 30},
        ],
        "annotations": [
            {
                "id": 1,
                "image_id": 139,
                "category_id": 1,
                "bbox": [4.0, 6.0, 20.0, 12.0],
                "area": 240.0,
                "iscrowd": 0,
            },
            {
                "id": 2,
                "image_id": 139,
                "category_id": 3,
                "bbox": [30.0, 10.0, 16.0, 30.0],
                "area": 480.0,
                "iscrowd": 0,
            },
            {
                "id": 3,
                "image_id": 285,
                "category_id": 3,
                "bbox": [2.0, 2.0, 30.0, 30.0],
                "area": 900.0,
                "iscrowd": 0,
            },
            {
                "id": 4,
                "image_id": 632,
                "category_id": 1,
                "bbox": [10.0, 5.0, 25.0, 20.0],
                "area": 500.0,
                "iscrowd": 0,
            },
        ],
        "categories": [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}],
    }
    for k, im in enumerate(doc["images"]):  # type: ignore[arg-type]
        write_png(
            root / "val2017" / im["file_name"],
            _rng_img(im["height"], im["width"], 3, k),
            filters=(0, 2),
        )
    (root / "annotations" / "instances_val2017.json").write_text(json.dumps(doc))
    return doc


def test_coco_loader(tmp_path: Path) -> None:
    coco_fixture(tmp_path)
    ds = CocoDataset(tmp_path, image_size_px=300)
    assert ds.size == 3
    x = ds.get_samples([0, 1])
    assert x.shape == (2, 3, 300, 300) and x.dtype == np.float32
    assert float(x.min()) >= -1.0 and float(x.max()) <= 1.0
    lab = ds.label(0)
    assert lab.image_id == 139 and lab.category_ids == (1, 3)
    assert lab.boxes_xywh_px[1] == (30.0, 10.0, 16.0, 30.0)
    big = CocoDataset(tmp_path, image_size_px=1200, count=1).get_samples([0])
    assert big.shape == (1, 3, 1200, 1200)
    img = decode_image(tmp_path / "val2017" / "000000000139.png")
    np.testing.assert_allclose(big[0], preprocess_coco(img, 1200), rtol=1e-6)


def test_coco_malformed(tmp_path: Path) -> None:
    doc = coco_fixture(tmp_path)
    ann = tmp_path / "annotations" / "instances_val2017.json"
    del doc["annotations"][2]["bbox"]  # type: ignore[index]
    ann.write_text(json.dumps(doc))
    with pytest.raises(DatasetError, match=r"annotations\[2\]: missing key 'bbox'"):
        CocoDataset(tmp_path)
    ann.write_text('{\n "images": [\n  {"id": 1,,}\n ]\n}')
    with pytest.raises(DatasetError, match=r"instances_val2017.json:3: invalid JSON"):
        CocoDataset(tmp_path)


# ------------------------------------------------------------------ SQuAD


def squad_fixture(path: Path) -> None:
    doc = {
        "version": "1.1",
        "data": [
            {
                "title": "Super_Bowl_50",
                "paragraphs": [
                    {
                        "context": "Super Bowl 50 was played at Levi's Stadium in Santa Clara, "
                        "California. The Denver Broncos won the game.",
                        "qas": [
                            {
                                "id": "q1",
                                "question": "Where was Super Bowl 50 played?",
                                "answers": [
                                    {"answer_start": 28, "text": "Levi's Stadium"},
                                    {
                                        "answer_start": 28,
                                        "text": "Levi's Stadium in Santa Clara, California",
                                    },
                                ],
                            },
                            {
                                "id": "q2",
                                "question": "Who won the game?",
                                "answers": [{"answer_start": 73, "text": "The Denver Broncos"}],
                            },
                        ],
                    }
                ],
            }
        ],
    }
    path.write_text(json.dumps(doc, indent=1))


def test_squad_loader(tmp_path: Path) -> None:
    squad_fixture(tmp_path / "dev-v1.1.json")
    ds = SquadDataset(tmp_path / "dev-v1.1.json", max_seq_length=64)
    assert ds.size == 2
    batch = ds.get_samples([0, 1])
    assert set(batch) == {"input_ids", "input_mask", "segment_ids"}
    assert batch["input_ids"].shape == (2, 64) and batch["input_ids"].dtype == np.int64
    q = ds.label(0)
    assert q.qas_id == "q1" and q.answers[0] == "Levi's Stadium"
    ids = batch["input_ids"][0]
    n_q = len(q.question.split())
    assert ids[0] == CLS_ID and ids[n_q + 1] == SEP_ID
    assert ids[1] == hash_token_id("where") == hash_token_id("Where")
    # Context token t maps back to its characters in the original context.
    spans = ds.features[0].token_char_spans
    first_ctx = n_q + 2
    s, e = spans[first_ctx + 6]
    assert q.context[s:e] == "Levi's"
    assert batch["segment_ids"][0, first_ctx] == 1 and batch["segment_ids"][0, 1] == 0
    n_ctx = len(whitespace_tokens(q.context))
    assert batch["input_mask"][0].sum() == n_q + n_ctx + 3


def test_squad_truncates_long_context(tmp_path: Path) -> None:
    squad_fixture(tmp_path / "d.json")
    ds = SquadDataset(tmp_path / "d.json", max_seq_length=16)
    assert ds.features[0].input_mask.sum() == 16


def test_squad_malformed(tmp_path: Path) -> None:
    p = tmp_path / "d.json"
    p.write_text(json.dumps({"data": [{"paragraphs": [{"context": "x", "qas": [{"id": "a"}]}]}]}))
    with pytest.raises(DatasetError, match=r"data\[0\].paragraphs\[0\].qas\[0\]: missing key"):
        SquadDataset(p)


# ------------------------------------------------------------------ Criteo


CRITEO_LINES = [
    "0\t1\t1\t5\t0\t1382\t4\t15\t2\t181\t1\t2\t\t2\t68fd1e64\t80e26c9b\tfb936136\t7b4723c4"
    "\t25c83c98\t7e0ccccf\tde7995b8\t1f89b562\ta73ee510\ta8cd5504\tb2cb9c98\t37c9c164"
    "\t2824a5f6\t1adce6ef\t8ba8b39a\t891b62e7\te5ba7672\tf54016b9\t21ddcdc9\tb1252a9d"
    "\t07b5194c\t\t3a171ecb\tc5c50484\te8b83407\t9727dd16",
    "1\t2\t-1\t44\t1\t102\t8\t2\t2\t4\t1\t1\t\t4\t68fd1e64\tf0cf0024\t6f67f7e5\t41274cd7"
    "\t25c83c98\tfe6b92e5\t922afcc0\t0b153874\ta73ee510\t2b53e5fb\t4f1b46f3\t623049e6"
    "\td7020589\tb28479f6\te6c5b5cd\tc92f3b61\t07c540c4\tb04e4670\t21ddcdc9\t5840adea"
    "\t60f6221e\t\t3a171ecb\t43f13e8b\te8b83407\t731c3655",
]


def test_criteo_loader(tmp_path: Path) -> None:
    p = tmp_path / "day_23"
    p.write_text("\n".join(CRITEO_LINES) + "\n")
    sizes = [1000 + k for k in range(26)]
    ds = CriteoDataset(p, table_sizes=sizes)
    assert ds.size == 2 and [ds.label(0), ds.label(1)] == [0, 1]
    x = ds.get_samples([1, 0])
    assert x["dense"].shape == (2, 13) and x["dense"].dtype == np.float32
    assert x["sparse"].shape == (2, 26) and x["sparse"].dtype == np.int64
    # I2 = -1 clips to 0; I12 empty → 0; log(1 + x) otherwise.
    np.testing.assert_allclose(x["dense"][0, :3], np.log1p([2, 0, 44]).astype(np.float32))
    assert x["dense"][0, 11] == 0.0
    assert x["sparse"][0, 0] == int("68fd1e64", 16) % 1000
    assert x["sparse"][0, 21] == 0  # empty categorical → row 0
    assert x["sparse"][1, 25] == int("9727dd16", 16) % 1025


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ("0\t1\t2", "day_23:2: expected 40 tab-separated fields, got 3"),
        ("2" + CRITEO_LINES[0][1:], "day_23:2: label '2' is not 0 or 1"),
        (CRITEO_LINES[0].replace("\t1382\t", "\tx\t"), "day_23:2: dense feature I5"),
        (CRITEO_LINES[0].replace("68fd1e64", "zz"), "day_23:2: categorical feature C1"),
    ],
)
def test_criteo_malformed(tmp_path: Path, bad: str, match: str) -> None:
    p = tmp_path / "day_23"
    p.write_text(CRITEO_LINES[0] + "\n" + bad + "\n")
    with pytest.raises(DatasetError, match=match):
        CriteoDataset(p)


def test_parse_criteo_line_default_tables() -> None:
    lab, dense, sparse = parse_criteo_line(CRITEO_LINES[0], [40_000_000] * 26)
    assert lab == 0 and dense.shape == (13,) and sparse[0] == int("68fd1e64", 16) % 40_000_000


# ------------------------------------------------------------------ synthetic stand-ins


@pytest.mark.parametrize(
    ("make", "shapes"),
    [
        (lambda s: synthetic_imagenet(16, seed=s), {"": ((3, 224, 224), np.float32)}),
        (lambda s: synthetic_coco(8, seed=s), {"": ((3, 300, 300), np.float32)}),
        (
            lambda s: synthetic_coco(2, seed=s, image_size_px=1200),
            {"": ((3, 1200, 1200), np.float32)},
        ),
        (
            lambda s: synthetic_squad(8, seed=s),
            {
                "input_ids": ((384,), np.int64),
                "input_mask": ((384,), np.int64),
                "segment_ids": ((384,), np.int64),
            },
        ),
        (
            lambda s: synthetic_criteo(8, seed=s),
            {"dense": ((13,), np.float32), "sparse": ((26,), np.int64)},
        ),
    ],
)
def test_synthetic_seeded_and_shaped(make, shapes) -> None:  # type: ignore[no-untyped-def]
    a, b, c = make(0), make(0), make(1)
    assert a.synthetic and a.size > 0
    xa = a.get_samples([0, 1])
    xb = b.get_samples([1])
    xc = c.get_samples([0, 1])

    def as_dict(x: object) -> dict[str, np.ndarray]:
        return x if isinstance(x, dict) else {"": x}  # type: ignore[dict-item]

    for key, (shape, dtype) in shapes.items():
        arr_a, arr_b, arr_c = as_dict(xa)[key], as_dict(xb)[key], as_dict(xc)[key]
        assert arr_a.shape == (2, *shape) and arr_a.dtype == dtype
        # Sample 1 is the same whether asked alone or in a batch; another seed differs.
        np.testing.assert_array_equal(arr_a[1], arr_b[0])
        if arr_a.std() > 0:
            assert not np.array_equal(arr_a, arr_c)
    with pytest.raises(DatasetError, match="accuracy mode needs the real data set"):
        a.label(0)


@pytest.mark.parametrize(
    "mode", [Mode.AccuracyOnly, Mode.SubmissionRun, "AccuracyOnly", "accuracy"]
)
def test_require_real_data_refuses_synthetic(mode: object) -> None:
    with pytest.raises(DatasetError) as info:
        require_real_data(synthetic_imagenet(4), mode)
    assert str(info.value) == ACCURACY_NEEDS_REAL_DATA
    assert str(info.value) == (
        "accuracy mode needs the real data set; synthetic data is only "
        "for performance runs: pass --dataset PATH"
    )


def test_require_real_data_allows_performance() -> None:
    require_real_data(synthetic_criteo(4), Mode.PerformanceOnly)
    require_real_data(synthetic_criteo(4), "PerformanceOnly")
