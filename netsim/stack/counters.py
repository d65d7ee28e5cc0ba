"""Per-layer counters (received, sent, dropped with the reason) that tests, the CLI and
notebooks read: ``stack.counters["tcp"]["rx"]``, ``stack.counters.drops()``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, ItemsView, Iterator, KeysView, ValuesView
from typing import Any

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


class FoldedCounter(LayerCounter):
    """A `LayerCounter` some of whose counts its owner keeps elsewhere, as plain ints, and
    adds in here when `fold` is called (a stack's counts of every frame: netsim.stack.
    host_arp). Every way of reading or changing it calls `fold` first, so whoever looks sees
    the numbers a plain `LayerCounter` counted in place would hold at that moment, in the
    same key order (the owner puts a key in, as 0, when it first counts it: `touch`).
    A copy or a pickle is a plain `LayerCounter`."""

    _fold: Callable[[], None] | None = None

    def copy(self) -> LayerCounter:  # type: ignore[override]
        return LayerCounter(dict(self))

    def __reduce__(self) -> tuple[Any, ...]:
        return LayerCounter, (dict(self),)

    # A dict's own views read its entries directly, so one held while frames are counted
    # would show the counts of the last fold: these views read through the counter.
    def keys(self) -> KeysView[str]:  # type: ignore[override]
        return _Keys(self)

    def values(self) -> ValuesView[int]:  # type: ignore[override]
        return _Values(self)

    def items(self) -> ItemsView[str, int]:  # type: ignore[override]
        return _Items(self)


def _counter(view: KeysView[str] | ValuesView[int] | ItemsView[str, int]) -> FoldedCounter:
    counter: FoldedCounter = view._mapping  # type: ignore[union-attr]  # (MappingView's)
    return counter


class _Keys(KeysView[str]):
    __slots__ = ()

    def __reversed__(self) -> Iterator[str]:
        return reversed(_counter(self))

    def __repr__(self) -> str:
        return f"dict_keys({list(self)!r})"


class _Values(ValuesView[int]):
    __slots__ = ()

    def __reversed__(self) -> Iterator[int]:
        counter = _counter(self)
        return (counter[key] for key in reversed(counter))

    def __repr__(self) -> str:
        return f"dict_values({list(self)!r})"


class _Items(ItemsView[str, int]):
    __slots__ = ()

    def __reversed__(self) -> Iterator[tuple[str, int]]:
        counter = _counter(self)
        return ((key, counter[key]) for key in reversed(counter))

    def __repr__(self) -> str:
        return f"dict_items({list(self)!r})"


def _folding(name: str) -> Callable[..., Any]:
    base = getattr(LayerCounter, name)

    def method(self: FoldedCounter, *args: Any, **kwargs: Any) -> Any:
        fold = self._fold
        if fold is not None:
            fold()
        return base(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = base.__doc__
    return method


# every method of dict and Counter that reads or changes the counts (all but `copy`,
# `__reduce__` and the views, above, which go through these; and `__ror__`: `d | c` for a
# Counter `d` is then Counter's own union, which reads `c` through these, and for a dict
# `d` dict's, which reads it with `keys()` and `c[key]`)
for _name in ("__getitem__", "__setitem__", "__delitem__", "__contains__", "__iter__",
              "__reversed__", "__len__", "__eq__", "__ne__", "__le__", "__lt__", "__ge__",
              "__gt__", "__repr__", "__sizeof__", "__or__", "__ior__", "__add__",
              "__sub__", "__and__", "__pos__", "__neg__", "__iadd__", "__isub__", "__iand__",
              "get", "setdefault", "pop", "popitem", "clear",
              "update", "subtract", "most_common", "elements", "total"):
    setattr(FoldedCounter, _name, _folding(_name))


def touch(counter: Counter[str], key: str) -> None:
    """Put `key` in `counter` as 0 if it is not there (without folding): where a plain
    counter's first ``+= 1`` would have put it in the key order."""
    if not dict.__contains__(counter, key):
        dict.__setitem__(counter, key, 0)


def add_count(counter: Counter[str], key: str, n: int) -> None:
    """Add `n` to `counter[key]` (without folding: what `fold` does)."""
    dict.__setitem__(counter, key, dict.get(counter, key, 0) + n)


class Counters(dict[str, Counter[str]]):
    def __init__(self) -> None:
        super().__init__((layer, LayerCounter()) for layer in LAYERS)

    def __missing__(self, key: str) -> Counter[str]:
        value: Counter[str] = LayerCounter()
        self[key] = value
        return value

    def fold_with(self, fold: Callable[[], None], layers: tuple[str, ...]) -> None:
        """Make the counters of `layers` (still empty) `FoldedCounter` objects that call
        `fold` before anything reads them."""
        for layer in layers:
            folded = FoldedCounter()
            folded._fold = fold
            self[layer] = folded

    def drop(self, layer: str, reason: str) -> None:
        self[layer]["drop." + reason] += 1

    def drops(self) -> dict[str, int]:
        """Every drop counter, as {"layer.reason": count}."""
        return {f"{layer}.{key[5:]}": n for layer, c in self.items() for key, n in c.items()
                if key.startswith("drop.") and n}

    def flat(self) -> dict[str, int]:
        return {f"{layer}.{key}": n for layer, c in self.items() for key, n in c.items()}
