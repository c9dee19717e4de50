"""The machine a benchmark ran on, for its table (figures mean little without it)."""

from __future__ import annotations

import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what `platform` knows. A cloud
    machine's name is often only "AMD EPYC", which covers generations that run the same code at
    quite different speeds, so the family, model, per-core cache and clock come with it:
    "AMD EPYC (family 26, model 2, cache 1024 KB, 2596 MHz)"."""
    try:
        fields = _first_cpu(Path("/proc/cpuinfo").read_text())
    except OSError:
        fields = {}
    name = fields.get("model name") or platform.processor() or "unknown"
    details = [
        f"{label} {fields[key]}"
        for key, label in (("cpu family", "family"), ("model", "model"), ("cache size", "cache"))
        if fields.get(key)
    ]
    if fields.get("cpu MHz"):
        details.append(f"{float(fields['cpu MHz']):.0f} MHz")
    return f"{name} ({', '.join(details)})" if details else name


def _first_cpu(cpuinfo: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            if fields:
                break  # the first processor's block is enough: the others are alike
            continue
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields
