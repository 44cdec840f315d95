"""ssd-mobilenet: object detection (light), SSD-MobileNet-v1 on COCO 300x300 (v0.5).

Reference data only.
"""

from __future__ import annotations

from mlpace.workloads.registry import QualityTarget, ScenarioBounds, Task, register
from mlpace.workloads.tasks._common import V05_SAMPLES_PER_QUERY, V05_VISION_QUERIES

TASK = register(
    Task(
        name="ssd-mobilenet",
        area="vision: object detection (light)",
        model="SSD-MobileNet-v1",
        dataset="COCO (300x300)",
        loadgen_model="ssd-mobilenet",
        # The requirement was lowered to 22.0 % mAP for the MobileNet backbone (§4.2.2).
        quality=QualityTarget("mAP", 22.0, 0.99),
        bounds=ScenarioBounds(
            multistream_arrival_ms_v05=50.0,
            server_qos_ms_v05=10.0,
            server_latency_percentile_v05=0.99,
            min_queries_v05=V05_VISION_QUERIES,
            samples_per_query_v05=V05_SAMPLES_PER_QUERY,
            performance_sample_count=256,
        ),
        preprocessing="resize to 300x300, scale to [-1, 1], NCHW float32",
        parameters="6.91M parameters, 2.47 GOPS/input",
        era="v0.5",
    )
)
