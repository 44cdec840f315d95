"""The task registry: Fig 4.3 quality targets, Fig 4.5 latency bounds, today's mlperf.conf."""

from __future__ import annotations

import pytest

from mlpace.errors import TaskError
from mlpace.workloads.registry import all_tasks, describe_tasks, get_task


@pytest.mark.parametrize(
    ("name", "reference", "fraction", "ms_arrival_ms", "server_qos_ms"),
    [
        ("resnet50", 76.456, 0.99, 50.0, 15.0),
        ("mobilenet", 71.676, 0.98, 50.0, 10.0),
        ("ssd-resnet34", 20.0, 0.99, 66.0, 100.0),
        ("ssd-mobilenet", 22.0, 0.99, 50.0, 10.0),
        ("gnmt", 23.9, 0.99, 100.0, 250.0),
    ],
)
def test_v05_targets_and_bounds(
    name: str, reference: float, fraction: float, ms_arrival_ms: float, server_qos_ms: float
) -> None:
    task = get_task(name)
    assert task.quality is not None
    assert task.quality.reference == pytest.approx(reference)
    assert task.quality.fraction == pytest.approx(fraction)
    assert task.bounds.multistream_arrival_ms_v05 == ms_arrival_ms
    assert task.bounds.server_qos_ms_v05 == server_qos_ms


def test_resnet50_target_and_current_values() -> None:
    task = get_task("resnet50")
    assert task.quality is not None
    assert task.quality.target == pytest.approx(75.69144)
    assert task.quality.met(75.7) and not task.quality.met(75.6)
    assert task.loadgen_model == "resnet50"
    assert task.checker_name == "resnet"
    assert task.bounds.server_target_latency_ms == 15.0
    assert task.bounds.offline_min_query_count == 24_576
    assert task.bounds.min_queries_v05["Server"] == 270_336
    assert task.runnable is not None


def test_gnmt_uses_97th_percentile_and_fewer_queries() -> None:
    task = get_task("gnmt")
    assert task.bounds.server_latency_percentile_v05 == 0.97
    assert (
        task.bounds.min_queries_v05["Server"]
        < get_task("resnet50").bounds.min_queries_v05["Server"]
    )


def test_current_tasks_from_mlperf_conf() -> None:
    assert get_task("bert").bounds.server_target_latency_ms == 130
    assert get_task("dlrm-v2").bounds.server_target_latency_ms == 60
    assert get_task("retinanet").bounds.server_target_latency_ms == 100
    llama = get_task("llama2-70b")
    assert (llama.bounds.ttft_ms, llama.bounds.tpot_ms) == (2000, 200)
    assert get_task("gptj").bounds.server_target_latency_ms == 20_000
    assert get_task("3d-unet").scenarios == ("SingleStream", "Offline")
    names = {t.name for t in all_tasks()}
    for expected in ("digits", "rnnt", "llama3_1-8b", "mixtral-8x7b", "stable-diffusion-xl"):
        assert expected in names


def test_aliases_and_unknown_task() -> None:
    assert get_task("resnet").name == "resnet50"  # checker name
    with pytest.raises(TaskError, match="unknown task 'nope'"):
        get_task("nope")
    with pytest.raises(TaskError, match="does not define the Server"):
        get_task("3d-unet").check_scenario("Server")


def test_digits_default_task_and_help_listing() -> None:
    task = get_task("digits")
    assert task.runnable is not None
    assert task.runnable.default_backend == "numpy"
    assert task.scenarios == ("SingleStream", "MultiStream", "Server", "Offline")
    text = describe_tasks()
    assert "digits" in text and "resnet50" in text
    assert "onnxruntime" in text and "torch" in text
