"""One typed value conversion for settings: the experiment file, the TUI's form fields, the
trainer's ``key=value`` overrides and the optimizer's settings all use it.

:class:`ValueType` is read once from a dataclass field's annotation (``"int"``, ``"float | None"``,
``"list[str]"``, ...; with ``from __future__ import annotations`` they are strings) -- the only
place that looks at annotation text. It then

- :meth:`~ValueType.check`\\ s a value that is already typed (TOML, JSON, a Python caller): ``bool``
  is never a number, an ``int`` is widened to ``float``, numbers must be finite;
- converts :meth:`~ValueType.from_text` what a user typed (``"1e6"`` is an integer, ``"TRUE"``
  is true, ``"1 2 4"`` / ``"1,2,4"`` a list of integers, a list of strings is split like a shell);
- :meth:`~ValueType.describe`\\ s what it accepts (``"an integer"``), for one-sentence errors.

Both raise :class:`ValueTypeError` (a ``ValueError``) naming what is accepted; callers turn it
into their own error with bounds and choices, which are theirs.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass
from typing import Any, Literal, get_args

Kind = Literal["bool", "int", "float", "str", "list[int]", "list[str]"]
KINDS: tuple[Kind, ...] = get_args(Kind)
_DESCRIPTIONS: dict[Kind, str] = {
    "bool": "true or false",
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "list[int]": "a list of integers",
    "list[str]": "a list of strings",
}


class ValueTypeError(ValueError):
    """A value or text is not of the expected type; ``accepted`` says what is."""

    def __init__(self, value: object, accepted: str):
        super().__init__(f"got {value!r}; accepted: {accepted}")
        self.value, self.accepted = value, accepted


@dataclass(frozen=True)
class ValueType:
    kind: Kind
    optional: bool = False  # ``X | None``: None is a value

    @classmethod
    def of(cls, annotation: object) -> ValueType:
        """The type a dataclass field's annotation names (a string or the type itself)."""
        if isinstance(annotation, str):
            text = annotation
        elif isinstance(annotation, type):
            text = annotation.__name__
        else:  # list[int], int | None, ...
            text = str(annotation)
        text = text.replace(" ", "")
        optional = text.endswith("|None") or text.startswith("None|")
        kind = text.removesuffix("|None").removeprefix("None|")
        if kind not in KINDS:
            raise TypeError(f"no value type for annotation {annotation!r}")
        return cls(kind, optional)

    def describe(self) -> str:
        return _DESCRIPTIONS[self.kind]

    def _bad(self, value: object) -> ValueTypeError:
        return ValueTypeError(value, self.describe())

    def check(self, value: Any) -> Any:
        """``value`` if it already is of this type (ints widened to float; lists copied)."""
        if value is None and self.optional:
            return None
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise self._bad(value)
            return value
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise self._bad(value)
            return value
        if self.kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self._bad(value)
            try:
                number = float(value)
            except OverflowError:  # an integer too large for a float
                raise self._bad(value) from None
            if not math.isfinite(number):
                raise self._bad(value)
            return number
        if self.kind == "str":
            if not isinstance(value, str):
                raise self._bad(value)
            return value
        item = int if self.kind == "list[int]" else str
        if not isinstance(value, list) or any(
            isinstance(v, bool) or not isinstance(v, item) for v in value
        ):
            raise self._bad(value)
        return list(value)

    def from_text(self, text: str) -> Any:
        """What a user typed, as a value of this type (surrounding blanks ignored)."""
        s = text.strip()
        if self.kind == "str":
            return text
        if self.kind == "list[str]":
            try:
                return shlex.split(s)
            except ValueError:  # an unclosed quote
                raise self._bad(text) from None
        if self.kind == "list[int]":
            try:
                return [_int_from_text(t) for t in s.replace(",", " ").split()]
            except ValueError:
                raise self._bad(text) from None
        if self.kind == "bool":
            low = s.lower()
            if low not in ("true", "false"):
                raise self._bad(text)
            return low == "true"
        try:
            return _int_from_text(s) if self.kind == "int" else _float_from_text(s)
        except ValueError:
            raise self._bad(text) from None


def _float_from_text(s: str) -> float:
    number = float(s)
    if not math.isfinite(number):
        raise ValueError(s)
    return number


def _int_from_text(s: str) -> int:
    """``"4096"``, ``"1_000"``, and integral floats such as ``"1e6"`` or ``"3.0"``."""
    try:
        return int(s)
    except ValueError:
        number = _float_from_text(s)
        if not number.is_integer():
            raise ValueError(s) from None
        return int(number)
