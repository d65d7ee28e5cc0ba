"""Per-layer counters (received, sent, dropped with the reason) that tests, the CLI and
notebooks read: ``stack.counters["tcp"]["rx"]``, ``stack.counters.drops()``."""

from __future__ import annotations

from collections import Counter

LAYERS = ("eth", "arp", "ipv4", "icmp", "udp", "tcp")


class Counters(dict[str, Counter[str]]):
    def __init__(self) -> None:
        super().__init__((layer, Counter()) for layer in LAYERS)

    def __missing__(self, key: str) -> Counter[str]:
        value: Counter[str] = Counter()
        self[key] = value
        return value

    def drop(self, layer: str, reason: str) -> None:
        self[layer]["drop." + reason] += 1

    def drops(self) -> dict[str, int]:
        """Every drop counter, as {"layer.reason": count}."""
        return {f"{layer}.{key[5:]}": n for layer, c in self.items() for key, n in c.items()
                if key.startswith("drop.") and n}

    def flat(self) -> dict[str, int]:
        return {f"{layer}.{key}": n for layer, c in self.items() for key, n in c.items()}
