"""Flow definitions: named steps and the moves between them, checked when built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


class FlowDefinitionError(ValueError):
    """A flow whose steps do not form a sound graph; raised at start-up, not mid-chat."""


@dataclass(frozen=True)
class FlowDefinition:
    name: str
    start: str
    moves: Mapping[str, tuple[str, ...]]
    entries: tuple[str, ...] = ()  # steps a conversation may resume at, besides the start

    def __post_init__(self) -> None:
        steps = set(self.moves)
        if self.start not in steps:
            raise FlowDefinitionError(f"{self.name}: start step {self.start!r} is not defined")
        for step, targets in self.moves.items():
            unknown = set(targets) - steps
            if unknown:
                raise FlowDefinitionError(
                    f"{self.name}: step {step!r} moves to undefined {sorted(unknown)}"
                )
        bad_entries = set(self.entries) - steps
        if bad_entries:
            raise FlowDefinitionError(f"{self.name}: undefined entries {sorted(bad_entries)}")
        reached = {self.start, *self.entries}
        frontier = list(reached)
        while frontier:
            for target in self.moves[frontier.pop()]:
                if target not in reached:
                    reached.add(target)
                    frontier.append(target)
        unreachable = steps - reached
        if unreachable:
            raise FlowDefinitionError(f"{self.name}: unreachable steps {sorted(unreachable)}")

    def check_move(self, current: str, target: str) -> None:
        """Refuse a move the definition does not declare: a programming error, not user input."""
        if current in self.moves:
            allowed = target == current or target in self.moves[current]
        else:
            allowed = target == self.start or target in self.entries
        if not allowed:
            raise FlowDefinitionError(f"{self.name}: no move {current!r} -> {target!r}")
