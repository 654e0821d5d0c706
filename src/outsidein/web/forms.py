"""Form errors for people: the page comes back with what was typed and the problem beside its field.

A form route runs its service call through :func:`attempt`.  A user error (an
:class:`~outsidein.errors.OutsideInError` below 500: an unknown need code, a score out of range, a
duplicate e-mail) rolls the transaction back and comes back as a :class:`FormState`: the values
typed, the field the message is about and the HTTP status of the error.  The route re-renders its
page with it (status 422, 409, ... as before), and the template (``_forms.html``) shows the
message next to the field, marks the field ``aria-invalid`` and opens the form.

Which field a service message is about is read from how the message begins (services name the
field first: ``"importance 11.0: expected a number from 0 to 10"``).

>>> state = FormState("add-need", {"title": "Fast delivery", "importance": "11"})
>>> state = state.failed("importance 11.0: expected a number from 0 to 10", 422,
...                      (("importance", "importance"), ("satisfaction", "satisfaction")), "title")
>>> state.errors, state.status
({'importance': 'importance 11.0: expected a number from 0 to 10'}, 422)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.orm import Session

from outsidein.errors import DataValidationError, OutsideInError

__all__ = ["FormState", "Rules", "attempt", "number"]

#: (message prefix, field) pairs, first match wins.
Rules = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class FormState:
    """One submitted form: its id on the page, the values typed, the errors by field."""

    form: str
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    status: int = 200

    def value(self, name: str, default: str = "") -> Any:
        return self.values.get(name, default)

    def failed(self, message: str, status: int, rules: Rules, default: str) -> FormState:
        """This state with *message* on the field it is about (first matching prefix)."""
        low = message.lower()
        name = next((f for prefix, f in rules if low.startswith(prefix.lower())), default)
        return replace(self, errors={name: message}, status=status)


def number(text: str, name: str, what: str = "a number") -> float:
    """*text* as a finite number, or a :class:`DataValidationError` that names the field.

    >>> number(" 7.5 ", "importance")
    7.5
    >>> number("lots", "kpi_target")
    Traceback (most recent call last):
    ...
    outsidein.errors.DataValidationError: kpi_target 'lots': expected a number
    """
    try:
        value = float((text or "").strip())
    except ValueError:
        raise DataValidationError(f"{name} {text!r}: expected {what}") from None
    if not math.isfinite(value):
        raise DataValidationError(f"{name} {text!r}: expected {what}")
    return value


def attempt(session: Session, state: FormState, fn: Callable[[], object], rules: Rules,
            default: str) -> FormState | None:
    """Run *fn*; None when it worked, else *state* with the error (the transaction rolled back).

    Errors of the server (500 and above) are not the user's: they propagate.
    """
    try:
        fn()
    except OutsideInError as exc:
        if exc.http_status >= 500:
            raise
        session.rollback()
        return state.failed(str(exc), exc.http_status, rules, default)
    return None
