"""gnmt: machine translation, GNMT on WMT16 EN-DE (v0.5). Reference data only.

Translation allows 3 % of queries over the bound (97th percentile), so it needs only 90K queries
(Fig 4.8) where the vision tasks need 270K.
"""

from __future__ import annotations

from mlpace.workloads.registry import QualityTarget, ScenarioBounds, Task, register

TASK = register(
    Task(
        name="gnmt",
        area="language: machine translation",
        model="GNMT",
        dataset="WMT16 EN-DE",
        loadgen_model="gnmt",
        quality=QualityTarget("BLEU", 23.9, 0.99, unit=""),
        bounds=ScenarioBounds(
            multistream_arrival_ms_v05=100.0,
            server_qos_ms_v05=250.0,
            server_latency_percentile_v05=0.97,
            min_queries_v05={
                "SingleStream": 1024,
                "MultiStream": 90_112,
                "Server": 90_112,
                "Offline": 1,
            },
            samples_per_query_v05={
                "SingleStream": 1,
                "MultiStream": "N",
                "Server": 1,
                "Offline": 24_576,
            },
        ),
        preprocessing="tokenise (BPE), sort by length",
        parameters="210M parameters",
        era="v0.5",
    )
)
