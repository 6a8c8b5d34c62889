"""The scenario registry: what each scenario measures, in which unit, on which library.

A scenario module declares a :class:`Scenario` with :func:`scenario` and
attaches one implementation per library family with
:meth:`Scenario.implement`. An implementation is called once per repeat with
the library's face (see ``_libs``) and a :class:`Budget`, and returns its
figure (a float) or, for a scenario with several figures, a dict keyed like
:attr:`Scenario.metrics`. A library with no implementation is "n/a", with
the reason given by :meth:`Scenario.not_applicable`. A library that runs
outside Python (the Go reference column) is recorded with
:meth:`Scenario.implement_externally` instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, TypeVar, Union

Figures = Union[float, Mapping[str, float]]
Impl = Callable[[Any, "Budget"], Figures]
F = TypeVar("F", bound=Impl)

MODES = ("full", "quick", "smoke")


@dataclass(frozen=True)
class Budget:
    """How much work one repeat does: ``full`` (the issue's sizes), ``quick`` or ``smoke`` (tests)."""

    mode: str

    def pick(self, full: int, quick: int, smoke: int) -> int:
        """The count for this mode."""
        return {"full": full, "quick": quick, "smoke": smoke}[self.mode]

    @property
    def seconds(self) -> float:
        """Time a throughput loop runs for (it stops at the first step past it)."""
        return {"full": 0.5, "quick": 0.1, "smoke": 0.002}[self.mode]


@dataclass(frozen=True)
class Metric:
    """One figure of a scenario: ``key`` ('' when the scenario has one figure) and its unit."""

    key: str
    unit: str
    size: Optional[int] = None
    """In a scaling scenario (:func:`scaling`): the size this figure is measured at."""
    family: str = ""
    """In a scaling scenario with several figures per size: which one (``arm``, ``p50``)."""


@dataclass
class Scenario:
    """A named benchmark and its implementations per library."""

    name: str
    summary: str
    metrics: tuple[Metric, ...]
    fresh_process_per_repeat: bool = False
    """Run every repeat in its own process (memory scenarios: freed memory is reused)."""
    warmup: bool = True
    """Run once at smoke size before the timed repeats."""
    impls: dict[str, Impl] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    """Per library: how the scenario is emulated, or why it is n/a."""
    external: set[str] = field(default_factory=set)
    """Libraries that run this scenario as an external program, not through a Python face (``_golang``)."""
    axis: str = ""
    """In a scaling scenario: what the size counts (``producer/consumer pairs``)."""

    def implement(self, libraries: tuple[str, ...], note: str = "") -> Callable[[F], F]:
        """Decorator: fn implements this scenario for each of ``libraries``."""

        def register(fn: F) -> F:
            for label in libraries:
                if label in self.impls:
                    raise ValueError(f"{self.name}: {label} implemented twice")
                self.impls[label] = fn
                if note:
                    self.notes[label] = note
            return fn

        return register

    def implement_externally(self, libraries: tuple[str, ...], note: str = "") -> None:
        """Record that an external program runs this scenario for ``libraries`` (idempotent)."""
        for label in libraries:
            if label in self.impls:
                raise ValueError(f"{self.name}: {label} has a Python implementation")
            self.external.add(label)
            if note:
                self.notes[label] = note

    def runs_on(self, label: str) -> bool:
        """Whether the scenario has an implementation for library ``label``."""
        return label in self.impls or label in self.external

    def not_applicable(self, libraries: tuple[str, ...], reason: str) -> None:
        """Record why ``libraries`` have no equivalent of this scenario."""
        for label in libraries:
            self.notes[label] = reason

    def row_name(self, metric: Metric) -> str:
        """The table/JSON row of one figure: ``name`` or ``name.key``."""
        return f"{self.name}.{metric.key}" if metric.key else self.name

    def figures(self, result: Figures) -> dict[str, float]:
        """Normalise an implementation's result to ``{metric key: value}`` and check its keys."""
        got = {"": float(result)} if isinstance(result, (int, float)) else {k: float(v) for k, v in result.items()}
        want = {m.key for m in self.metrics}
        if set(got) != want:
            raise ValueError(f"{self.name}: implementation returned {sorted(got)}, expected {sorted(want)}")
        return got


SCENARIOS: dict[str, Scenario] = {}


def scenario(
    name: str,
    summary: str,
    unit: str = "",
    metrics: tuple[tuple[str, str], ...] = (),
    *,
    fresh_process_per_repeat: bool = False,
    warmup: bool = True,
) -> Scenario:
    """Declare a scenario with one figure (``unit``) or several (``metrics``: (key, unit) pairs)."""
    if bool(unit) == bool(metrics):
        raise ValueError(f"{name}: give either unit or metrics")
    ms = (Metric("", unit),) if unit else tuple(Metric(k, u) for k, u in metrics)
    return _register(Scenario(name, summary, ms, fresh_process_per_repeat, warmup))


def _register(sc: Scenario) -> Scenario:
    if sc.name in SCENARIOS:
        raise ValueError(f"scenario {sc.name!r} declared twice")
    SCENARIOS[sc.name] = sc
    return sc


def scaling(
    name: str,
    summary: str,
    axis: str,
    sizes: tuple[int, ...],
    unit: str = "",
    figures: tuple[tuple[str, str], ...] = (),
) -> Scenario:
    """Declare a scenario that measures one figure (``unit``) or several (``figures``: (name, unit) pairs)
    at each of ``sizes`` (counted in ``axis``).

    Its metric keys are ``n64`` (one figure) or ``arm.n64`` (several), so its
    rows are ``scale_threads.n64`` or ``scale_timers.arm.n100``; an
    implementation returns a dict with every key, :func:`size_key` builds them.
    """
    if bool(unit) == bool(figures):
        raise ValueError(f"{name}: give either unit or figures")
    if not sizes or list(sizes) != sorted(set(sizes)):
        raise ValueError(f"{name}: sizes must be distinct and increasing, not {sizes}")
    families = (("", unit),) if unit else figures
    metrics = tuple(Metric(size_key(size, fam), u, size, fam) for fam, u in families for size in sizes)
    return _register(Scenario(name, summary, metrics, axis=axis))


def size_key(size: int, family: str = "") -> str:
    """The metric key of a scaling scenario's figure at ``size``: ``n64``, ``arm.n64``."""
    return f"{family}.n{size}" if family else f"n{size}"


def all_scenarios() -> dict[str, Scenario]:
    """Every scenario, in table order (importing the scenario modules registers them)."""
    # Import order is table order.
    from . import _channels  # noqa: F401
    from . import _select  # noqa: F401
    from . import _timers  # noqa: F401
    from . import _signals  # noqa: F401
    from . import _context  # noqa: F401
    from . import _scale  # noqa: F401
    from . import _bubble  # noqa: F401
    from . import _parallel  # noqa: F401
    from . import _golang

    _golang.attach(SCENARIOS)
    return SCENARIOS
