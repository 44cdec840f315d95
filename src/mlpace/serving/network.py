"""The network-division keys of the system description for a run against an HTTP endpoint.

The submission checker requires these keys when ``is_network`` is ``"true"`` (and the SUT name in
the logs to contain "Network SUT", which :class:`~mlpace.serving.client.HttpSUT` does). What the
client can know is filled in (its own NIC, software stack, protocol, connection policy); what
only the server side knows is left empty for the submitter. A loopback endpoint is marked as
such: it exercises the network code path but is not a network-division topology.
"""

from __future__ import annotations

import importlib
import ipaddress
import platform
import socket
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

NETWORK_KEYS = (
    "is_network",
    "network_type",
    "network_media",
    "network_rate",
    "nic_loadgen",
    "number_nic_loadgen",
    "net_software_stack_loadgen",
    "network_protocol",
    "number_connections",
    "nic_sut",
    "number_nic_sut",
    "net_software_stack_sut",
    "network_topology",
)


def is_loopback(host: str) -> bool:
    """True for loopback addresses and names that resolve only to them (no DNS lookup of
    other names: a name that is not ``localhost`` counts as remote)."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def _nics() -> list[str]:
    cards = []
    for nic in sorted(Path("/sys/class/net").glob("*")):
        if nic.name == "lo" or not (nic / "device").exists():
            continue
        speed = ""
        try:
            mbps = int((nic / "speed").read_text().strip())
            speed = f" {mbps / 1000:g} Gb/s" if mbps > 0 else ""
        except (OSError, ValueError):
            pass
        cards.append(f"{nic.name}{speed}")
    return cards


def network_keys(url: str, *, max_concurrency: int = 0) -> dict[str, str]:
    """The thirteen network-mode keys for a run whose SUT is at ``url``."""
    host = urlsplit(url).hostname or ""
    loop = is_loopback(host)
    cards = ["lo"] if loop else _nics()
    stack = (
        f"{platform.system()} {platform.release()} TCP/IP; Python {platform.python_version()}; "
        f"aiohttp {_version('aiohttp')}; mlpace {_version('mlpace')}"
    )
    return {
        "is_network": "true",
        "network_type": "loopback (LoadGen and SUT on one host)" if loop else "IP network",
        "network_media": "none (loopback)" if loop else "",
        "network_rate": "" if not loop else "N/A (loopback)",
        "nic_loadgen": ", ".join(cards),
        "number_nic_loadgen": str(len(cards)),
        "net_software_stack_loadgen": stack,
        "network_protocol": "HTTP/1.1, server-sent events (OpenAI-compatible API)",
        "number_connections": (
            str(max_concurrency) if max_concurrency > 0 else "one per request in flight"
        ),
        "nic_sut": "lo" if loop else "",
        "number_nic_sut": "1" if loop else "",
        "net_software_stack_sut": "",
        "network_topology": (
            "loopback on one host (not a network-division topology)"
            if loop
            else f"LoadGen node {socket.gethostname()} -> SUT {host}"
        ),
    }


def network_description(url: str, *, model: str = "", max_concurrency: int = 0) -> dict[str, Any]:
    """The machine's system description (``mlpace.system.describe_system`` when that package
    is present) with the network keys and the endpoint on top."""
    keys: dict[str, Any] = network_keys(url, max_concurrency=max_concurrency)
    keys["mlpace_endpoint"] = url
    if model:
        keys["mlpace_served_model"] = model
    try:  # the shared system description, where this build has it
        system = importlib.import_module("mlpace.system")
    except ImportError:
        return keys
    described: dict[str, Any] = dict(system.describe_system(**keys))
    return described


__all__ = ["NETWORK_KEYS", "is_loopback", "network_description", "network_keys"]
