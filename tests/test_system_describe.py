"""describe_system on this machine, --set/--from parsing and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlpace.cli.main import main
from mlpace.system import (
    SystemDescriptionError,
    describe_system,
    load_description,
    needs_user,
    parse_assignments,
    required_keys,
    validate_description,
)

# Keys the machine can tell: each must be filled on any Linux box this suite runs on.
AUTO_KEYS = (
    "number_of_nodes", "host_processor_model_name", "host_processors_per_node",
    "host_processor_core_count", "host_processor_frequency", "host_processor_caches",
    "host_memory_capacity", "host_storage_capacity", "host_storage_type", "host_networking",
    "host_network_card_count", "host_networking_topology", "accelerators_per_node",
    "accelerator_model_name", "accelerator_memory_capacity", "accelerator_host_interconnect",
    "accelerator_memory_configuration", "accelerator_interconnect", "framework",
    "operating_system", "other_software_stack", "sw_notes",
)  # fmt: skip


def test_every_auto_filled_key_is_non_empty_on_this_machine() -> None:
    desc = describe_system(backend="numpy", threads=1, workers=2)
    empty = [k for k in AUTO_KEYS if not desc[k].strip()]
    assert empty == []
    assert set(required_keys("v6.1")) <= set(desc)
    assert int(desc["host_processor_core_count"]) >= 1
    assert desc["framework"].startswith("NumPy ")
    assert "1 intra-op thread(s)" in desc["sw_notes"] and "2 SUT worker(s)" in desc["sw_notes"]
    assert all(isinstance(v, str) for v in desc.values())


def test_user_keys_are_listed_until_given() -> None:
    desc = describe_system()
    missing = needs_user(desc)
    assert {"submitter", "division", "status", "system_type", "cooling"} <= set(missing)
    given = describe_system(
        {"accelerator_on-chip_memories": "none"},
        submitter="me", division="open", status="rdi", system_type="edge", cooling="air",
        system_name="box", host_memory_configuration="1x 24 GiB",
    )  # fmt: skip
    assert needs_user(given) == []
    assert given["accelerator_on-chip_memories"] == "none"


@pytest.mark.parametrize(
    ("key", "value"),
    [("status", "available-ish"), ("system_type", "laptop"), ("division", "closd"),
     ("number_of_nodes", "two")],
)  # fmt: skip
def test_values_outside_their_set_are_named(key: str, value: str) -> None:
    problems = validate_description(describe_system(**{key: value}))
    assert [p.key for p in problems] == [key]
    assert value in problems[0].format()


def test_assignments_and_files(tmp_path: Path) -> None:
    assert parse_assignments(["a=b", "c=d=e", "x="]) == {"a": "b", "c": "d=e", "x": ""}
    with pytest.raises(SystemDescriptionError, match="--set 'novalue'"):
        parse_assignments(["novalue"])
    bad = tmp_path / "bad.json"
    bad.write_text('{"cooling": ', encoding="utf-8")
    with pytest.raises(SystemDescriptionError, match="not valid JSON"):
        load_description(bad)
    bad.write_text("[1]", encoding="utf-8")
    with pytest.raises(SystemDescriptionError, match="JSON object"):
        load_description(bad)


def test_cli_writes_the_file_and_lists_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start = tmp_path / "start.json"
    start.write_text(json.dumps({"cooling": "liquid", "submitter": "acme"}), encoding="utf-8")
    out = tmp_path / "systems" / "box.json"
    code = main(
        ["describe-system", "--from", str(start), "--set", "status=rdi", "--output", str(out)]
    )
    assert code == 0
    desc = json.loads(out.read_text(encoding="utf-8"))
    assert desc["cooling"] == "liquid" and desc["status"] == "rdi" and desc["submitter"] == "acme"
    err = capsys.readouterr().err
    assert "needs you: division" in err and "--set system_type=..." in err
    assert main(["describe-system", "--set", "status=maybe"]) == 2
    assert "one of available, preview, rdi" in capsys.readouterr().err


def test_gpus_are_read_from_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\n" + "echo 'NVIDIA H200, 143771 MiB, 1980 MHz'\n" * 2)
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    desc = describe_system()
    assert desc["accelerators_per_node"] == "2"
    assert desc["accelerator_model_name"] == "NVIDIA H200"
    assert desc["accelerator_memory_capacity"] == "143771 MiB"
    assert desc["accelerator_frequency"] == "1980 MHz"
