"""Read what the machine says about itself: CPU, caches, memory, storage, network, OS,
software versions and accelerators. Every probe returns "" when it cannot know."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from collections import Counter
from importlib import metadata
from pathlib import Path

__all__ = [
    "accelerators",
    "cpu",
    "memory",
    "network",
    "operating_system",
    "software",
    "storage",
]


def _read(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def _cpuinfo() -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    for block in _read("/proc/cpuinfo").split("\n\n"):
        entry: dict[str, str] = {}
        for line in block.splitlines():
            key, _, value = line.partition(":")
            entry[key.strip()] = value.strip()
        if entry:
            blocks.append(entry)
    return blocks


def _human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if n == int(n) else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def _size_text(text: str) -> int:
    """'32K' / '2048K' / '32M' (sysfs cache sizes) in bytes."""
    m = re.fullmatch(r"(\d+)\s*([KMG]?)", text.strip())
    if not m:
        return 0
    return int(m.group(1)) * {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}[m.group(2)]


def _caches() -> str:
    """'L1d 32 KiB, L1i 32 KiB, L2 1 MiB per core; L3 32 MiB shared' from sysfs."""
    base = Path("/sys/devices/system/cpu/cpu0/cache")
    parts = []
    for index in sorted(base.glob("index*")):
        level, kind = _read(index / "level"), _read(index / "type")
        size = _size_text(_read(index / "size"))
        if not level or not size:
            continue
        suffix = {"Data": "d", "Instruction": "i"}.get(kind, "")
        shared = _read(index / "shared_cpu_list")
        scope = "per core" if shared in ("0", "") else f"shared by CPUs {shared}"
        parts.append(f"L{level}{suffix} {_human_bytes(size)} ({scope})")
    return ", ".join(parts)


def cpu() -> dict[str, str]:
    info = _cpuinfo()
    model = next((b.get("model name", "") for b in info if b.get("model name")), "")
    if not model:
        model = platform.processor() or platform.machine()
    sockets = len({b.get("physical id", "0") for b in info}) if info else 1
    cores_per_socket = next((b.get("cpu cores", "") for b in info if b.get("cpu cores")), "")
    logical = os.cpu_count() or len(info) or 1
    cores = int(cores_per_socket) if cores_per_socket.isdigit() else logical // max(sockets, 1)
    freq = ""
    max_khz = _read("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    if max_khz.isdigit():
        freq = f"{int(max_khz) / 1e6:.2f} GHz (max)"
    else:
        mhz = Counter(b.get("cpu MHz", "") for b in info if b.get("cpu MHz"))
        if mhz:
            freq = f"{float(mhz.most_common(1)[0][0]) / 1e3:.2f} GHz (reported)"
    return {
        "host_processor_model_name": model,
        "host_processors_per_node": str(max(sockets, 1)),
        "host_processor_core_count": str(cores),
        "host_processor_vcpu_count": str(logical),
        "host_processor_frequency": freq,
        "host_processor_caches": _caches(),
        "host_processor_interconnect": "N/A (single socket)" if sockets <= 1 else "",
    }


def memory() -> dict[str, str]:
    total_kib = 0
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            total_kib = int(line.split()[1])
    capacity = f"{total_kib / 1024**2:.1f} GiB" if total_kib else ""
    return {"host_memory_capacity": capacity, "host_memory_configuration": _dimms()}


def _dimms() -> str:
    """DIMM layout from dmidecode when it can run (it needs root); else "" (ask the user)."""
    exe = shutil.which("dmidecode")
    if exe is None:
        return ""
    try:
        out = subprocess.run(
            [exe, "-t", "memory"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    sizes = Counter(
        m.group(1) for m in re.finditer(r"^\s*Size:\s*(\d+\s*[GM]B)\s*$", out, re.MULTILINE)
    )
    return ", ".join(f"{n}x {size}" for size, n in sizes.items())


def storage(path: str | Path = ".") -> dict[str, str]:
    """Capacity and type of the disk holding ``path``."""
    try:
        total = shutil.disk_usage(path).total
    except OSError:
        total = 0
    kind = ""
    for dev in sorted(Path("/sys/block").glob("*")):
        if dev.name.startswith(("loop", "zram", "ram")):
            continue
        rotational = _read(dev / "queue" / "rotational")
        if dev.name.startswith("nvme"):
            kind = "NVMe SSD"
        elif rotational == "0":
            kind = "SSD"
        elif rotational == "1":
            kind = "HDD (or a virtual disk that reports rotational)"
        if kind:
            break
    return {
        "host_storage_capacity": f"{total / 1e9:.0f} GB" if total else "",
        "host_storage_type": kind,
    }


def network() -> dict[str, str]:
    """Physical interfaces (those backed by a device) and their link speeds."""
    cards = []
    for nic in sorted(Path("/sys/class/net").glob("*")):
        if nic.name == "lo" or not (nic / "device").exists():
            continue
        speed = _read(nic / "speed")
        rate = (
            f" {int(speed) / 1000:g} Gb/s" if speed.lstrip("-").isdigit() and int(speed) > 0 else ""
        )
        cards.append(f"{nic.name}{rate}")
    return {
        "host_networking": ", ".join(cards) or "none",
        "host_network_card_count": str(len(cards)),
        "host_networking_topology": "N/A (single node)",
    }


def operating_system() -> str:
    pretty = ""
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            pretty = line.split("=", 1)[1].strip().strip('"')
    kernel = f"{platform.system()} {platform.release()}"
    return f"{pretty} ({kernel})" if pretty else kernel


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return ""


def software(backend: str | None = None) -> dict[str, str]:
    """framework: the backend's library (or every one installed); the rest of the stack."""
    libs = {
        "numpy": ("NumPy", _version("numpy")),
        "onnxruntime": ("ONNX Runtime", _version("onnxruntime")),
        "torch": ("PyTorch", _version("torch")),
    }
    present = {k: f"{name} {v}" for k, (name, v) in libs.items() if v}
    if backend in present:
        framework = present[backend]
    else:
        framework = ", ".join(present.values())
    stack = [f"Python {platform.python_version()}", f"mlpace {_version('mlpace') or 'dev'}"]
    stack += [v for v in present.values() if v not in framework]
    return {"framework": framework, "other_software_stack": ", ".join(stack)}


def accelerators() -> dict[str, str]:
    """NVIDIA GPUs through nvidia-smi when present; otherwise a CPU-only node."""
    exe = shutil.which("nvidia-smi")
    rows: list[list[str]] = []
    if exe is not None:
        try:
            out = subprocess.run(
                [exe, "--query-gpu=name,memory.total,clocks.max.sm", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            ).stdout
            rows = [[c.strip() for c in line.split(",")] for line in out.splitlines() if line]
        except (OSError, subprocess.SubprocessError):
            rows = []
    if not rows:
        none = "N/A"
        return {
            "accelerators_per_node": "0",
            "accelerator_model_name": none,
            "accelerator_memory_capacity": none,
            "accelerator_frequency": none,
            "accelerator_host_interconnect": none,
            "accelerator_interconnect": none,
            "accelerator_interconnect_topology": none,
            "accelerator_memory_configuration": none,
            "accelerator_on-chip_memories": none,
        }
    first = rows[0]
    return {
        "accelerators_per_node": str(len(rows)),
        "accelerator_model_name": first[0],
        "accelerator_memory_capacity": first[1] if len(first) > 1 else "",
        "accelerator_frequency": first[2] if len(first) > 2 else "",
        "accelerator_host_interconnect": "PCIe",
    }
