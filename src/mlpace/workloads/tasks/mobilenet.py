"""mobilenet: image classification (light), MobileNet-v1-1.0-224 on ImageNet (v0.5).

Reference data only (no model is shipped): Fig 4.3 target, Fig 4.5 bounds, Fig 4.8 counts.
"""

from __future__ import annotations

from mlpace.workloads.registry import QualityTarget, ScenarioBounds, Task, register
from mlpace.workloads.tasks._common import V05_SAMPLES_PER_QUERY, V05_VISION_QUERIES

TASK = register(
    Task(
        name="mobilenet",
        area="vision: image classification (light)",
        model="MobileNet-v1 224",
        dataset="ImageNet (224x224)",
        loadgen_model="mobilenet",
        # 98 %, not 99 %: MobileNet lost too much accuracy when quantised (§4.2.2).
        quality=QualityTarget("acc", 71.676, 0.98),
        bounds=ScenarioBounds(
            multistream_arrival_ms_v05=50.0,
            server_qos_ms_v05=10.0,
            server_latency_percentile_v05=0.99,
            min_queries_v05=V05_VISION_QUERIES,
            samples_per_query_v05=V05_SAMPLES_PER_QUERY,
        ),
        preprocessing="resize, center crop 224, scale to [-1, 1], NCHW float32",
        parameters="4.2M parameters, 1.138 GOPS/input",
        era="v0.5",
    )
)
