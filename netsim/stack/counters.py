"""Per-layer counters (received, sent, dropped with the reason) that tests, the CLI and
notebooks read: ``stack.counters["tcp"]["rx"]``, ``stack.counters.drops()``."""

from __future__ import annotations

from collections import Counter

LAYERS = ("eth", "arp", "ipv4", "icmp", "udp", "tcp")


class LayerCounter(Counter[str]):
    """A `Counter` whose ``c[key] += 1`` stores with dict's own item assignment.

    `collections.Counter` defines ``__delitem__`` in Python, and CPython then routes every
    item *assignment* too through a method lookup (the two share one type slot): about a
    microsecond per ``+= 1``, several per frame on a stack. Taking dict's ``__delitem__``
    back restores the direct slot. The one difference: ``del c[key]`` of a key it does not
    hold raises KeyError, as for a dict (Counter ignores it); nothing in netsim deletes.
    The repr stays a Counter's.
    """

    __delitem__ = dict.__delitem__  # type: ignore[assignment]  # (keys are str)

    def __repr__(self) -> str:
        return "Counter" + super().__repr__().removeprefix(type(self).__name__)


class Counters(dict[str, Counter[str]]):
    def __init__(self) -> None:
        super().__init__((layer, LayerCounter()) for layer in LAYERS)

    def __missing__(self, key: str) -> Counter[str]:
        value: Counter[str] = LayerCounter()
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
