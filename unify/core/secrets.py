"""A wrapper that keeps decrypted values out of ``repr``, logs and templates."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Secret(Generic[T]):
    """Holds a decrypted value. Only ``reveal()`` gives it back; every other view is masked."""

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value = value

    def reveal(self) -> T:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, Secret):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("secret", repr(self._value)))

    def __bool__(self) -> bool:
        return bool(self._value)

    # Templates resolve attributes and call callables; give them nothing to show.
    do_not_call_in_templates = True


def mask_hint(value: str, *, visible: int = 4) -> str:
    """``••••3f9a``: the last few characters, enough for a person to recognise a key."""
    tail = value[-visible:] if len(value) > visible * 2 else ""
    return f"••••{tail}"
