"""Today's MLPerf Inference tasks (v6.1 mlperf.conf and checker), as reference data.

Values come from the reference notes (loadgen.md §4 and §14): Server ``target_latency``, token
latency bounds (TTFT/TPOT), Offline minimum query counts, performance sample counts and the
checker's accuracy targets where the notes give them. ``quality=None`` where they do not. The
scenario sets are the datacenter (Server + Offline) / edge (SingleStream, MultiStream, Offline)
sets these tasks are commonly run in; they are not runnable in mlpace (no model shipped).
"""

from __future__ import annotations

from mlpace.workloads.registry import QualityTarget, ScenarioBounds, Task, register

_DC = ("Server", "Offline")
_DC_SS = ("SingleStream", "Server", "Offline")
_ALL = ("SingleStream", "MultiStream", "Server", "Offline")


def _t(
    name: str,
    area: str,
    model: str,
    dataset: str,
    *,
    key: str | None = None,
    checker: str | None = None,
    quality: QualityTarget | None = None,
    scenarios: tuple[str, ...] = _DC,
    server_ms: float | None = None,
    ttft_ms: float | None = None,
    tpot_ms: float | None = None,
    offline_min: int | None = None,
    psc: int | None = None,
) -> None:
    register(
        Task(
            name=name,
            area=area,
            model=model,
            dataset=dataset,
            loadgen_model=key or name,
            checker_name=checker,
            quality=quality,
            scenarios=scenarios,
            bounds=ScenarioBounds(
                server_target_latency_ms=server_ms,
                ttft_ms=ttft_ms,
                tpot_ms=tpot_ms,
                offline_min_query_count=offline_min,
                performance_sample_count=psc,
            ),
            era="current",
        )
    )


_t(
    "bert",
    "language: question answering",
    "BERT-large",
    "SQuAD v1.1",
    checker="bert-99",
    quality=QualityTarget("F1", 90.874, 0.99, unit=""),
    scenarios=_DC_SS,
    server_ms=130,
    offline_min=10_833,
    psc=10_833,
)
_t(
    "bert-99.9",
    "language: question answering (high accuracy)",
    "BERT-large",
    "SQuAD v1.1",
    key="bert",
    checker="bert-99.9",
    quality=QualityTarget("F1", 90.874, 0.999, unit=""),
    scenarios=_DC_SS,
    server_ms=130,
    offline_min=10_833,
    psc=10_833,
)
_t(
    "dlrm-v2",
    "recommendation",
    "DLRM v2 (DCNv2)",
    "Criteo 1TB multi-hot",
    server_ms=60,
    offline_min=24_576,
    psc=204_800,
)
_t(
    "retinanet",
    "vision: object detection",
    "RetinaNet (ResNeXt-50 FPN)",
    "OpenImages (800x800)",
    quality=QualityTarget("mAP", 37.552, 0.99),
    scenarios=_ALL,
    server_ms=100,
    offline_min=24_576,
    psc=64,
)
_t(
    "3d-unet",
    "vision: medical image segmentation",
    "3D U-Net",
    "KiTS 2019",
    checker="3d-unet-99",
    quality=QualityTarget("DICE", 0.8617, 0.99, unit=""),
    scenarios=("SingleStream", "Offline"),
    offline_min=43,
)
_t(
    "rnnt",
    "speech: recognition",
    "RNN-T",
    "LibriSpeech",
    scenarios=_DC_SS,
    server_ms=1000,
    offline_min=2513,
    psc=2513,
)
_t(
    "gptj",
    "language: summarisation",
    "GPT-J 6B",
    "CNN/DailyMail",
    checker="gptj-99",
    scenarios=_DC_SS,
    server_ms=20_000,
    offline_min=13_368,
    psc=13_368,
)
_t(
    "llama2-70b",
    "language: LLM Q&A",
    "Llama 2 70B",
    "OpenOrca",
    checker="llama2-70b-99.9",
    quality=QualityTarget("ROUGE1", 44.4312, 0.999, unit=""),
    ttft_ms=2000,
    tpot_ms=200,
    server_ms=0,
    offline_min=24_576,
    psc=24_576,
)
_t(
    "llama2-70b-interactive",
    "language: LLM Q&A (interactive)",
    "Llama 2 70B",
    "OpenOrca",
    quality=QualityTarget("ROUGE1", 44.4312, 0.999, unit=""),
    ttft_ms=450,
    tpot_ms=40,
    server_ms=0,
    scenarios=("Server",),
    psc=24_576,
)
_t(
    "llama3_1-8b",
    "language: LLM summarisation",
    "Llama 3.1 8B",
    "CNN/DailyMail",
    checker="llama3.1-8b",
    ttft_ms=2000,
    tpot_ms=100,
    server_ms=0,
    offline_min=13_368,
    psc=13_368,
)
_t(
    "llama3_1-405b",
    "language: LLM long context",
    "Llama 3.1 405B",
    "mixed long-context",
    checker="llama3.1-405b",
    ttft_ms=6000,
    tpot_ms=175,
    server_ms=0,
    offline_min=8313,
    psc=8313,
)
_t(
    "mixtral-8x7b",
    "language: mixture of experts",
    "Mixtral 8x7B",
    "OpenOrca/GSM8K/MBXP",
    key="mixtral-8x7b",
    ttft_ms=2000,
    tpot_ms=200,
    server_ms=0,
    offline_min=15_000,
    psc=15_000,
)
_t(
    "deepseek-r1",
    "language: reasoning",
    "DeepSeek-R1",
    "mixed reasoning",
    ttft_ms=2000,
    tpot_ms=80,
    server_ms=0,
    offline_min=4388,
    psc=4388,
)
_t(
    "gpt-oss-120b",
    "language: reasoning",
    "gpt-oss-120b",
    "mixed reasoning",
    quality=QualityTarget("exact_match", 83.13, 0.99, unit=""),
    ttft_ms=3000,
    tpot_ms=80,
    server_ms=0,
    psc=6396,
)
_t(
    "stable-diffusion-xl",
    "vision: text to image",
    "Stable Diffusion XL",
    "COCO 2014 captions",
    scenarios=_DC_SS,
    server_ms=20_000,
    offline_min=5000,
    psc=5000,
)
_t(
    "whisper",
    "speech: transcription",
    "Whisper large v3",
    "LibriSpeech",
    quality=QualityTarget("ACCURACY", 100 - 2.0671, 0.99),
    scenarios=("Offline",),
    offline_min=1633,
    psc=1633,
)
_t(
    "yolo",
    "vision: object detection (edge)",
    "YOLO",
    "COCO",
    checker="yolo-99",
    quality=QualityTarget("mAP", 53.4, 0.99),
    scenarios=("SingleStream", "MultiStream", "Offline"),
    psc=64,
)
_t(
    "rgat",
    "graph: node classification",
    "R-GAT",
    "IGBH",
    scenarios=("Offline",),
    offline_min=788_379,
    psc=788_379,
)
_t(
    "qwen3-vl-235b-a22b",
    "multimodal: vision-language",
    "Qwen3-VL 235B-A22B",
    "mixed",
    server_ms=12_000,
    offline_min=48_289,
    psc=48_289,
)
_t("dlrm-v3", "recommendation (generative)", "DLRM v3", "synthetic streaming", server_ms=80)
_t(
    "pointpainting",
    "vision: 3D object detection",
    "PointPainting",
    "Waymo",
    scenarios=("SingleStream", "Offline"),
    psc=1024,
)
_t(
    "wan-2.2-t2v-a14b",
    "vision: text to video",
    "Wan 2.2 T2V A14B",
    "prompts",
    scenarios=("SingleStream", "Offline"),
    offline_min=248,
    psc=248,
)
