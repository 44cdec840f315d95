"""ssd-resnet34: object detection (heavy), SSD with a ResNet-34 backbone on COCO 1200x1200 (v0.5).

Reference data only.
"""

from __future__ import annotations

from mlpace.workloads.registry import QualityTarget, ScenarioBounds, Task, register
from mlpace.workloads.tasks._common import V05_SAMPLES_PER_QUERY, V05_VISION_QUERIES

TASK = register(
    Task(
        name="ssd-resnet34",
        area="vision: object detection (heavy)",
        model="SSD-ResNet-34",
        dataset="COCO (1,200x1,200)",
        loadgen_model="ssd-resnet34",
        quality=QualityTarget("mAP", 20.0, 0.99),  # 0.20 mAP, in percent
        bounds=ScenarioBounds(
            multistream_arrival_ms_v05=66.0,
            server_qos_ms_v05=100.0,
            server_latency_percentile_v05=0.99,
            min_queries_v05=V05_VISION_QUERIES,
            samples_per_query_v05=V05_SAMPLES_PER_QUERY,
        ),
        preprocessing="resize to 1200x1200, normalise, NCHW float32",
        parameters="36.3M parameters, 433 GOPS/input",
        era="v0.5",
    )
)
