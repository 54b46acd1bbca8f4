r"""A collapse guard: notice in the run that training has collapsed, and say what to do.

No reading taken before a run places a peak to within the width of a cliff: in the
benchmarks a 1cycle peaking at 0.149 trained and one at 0.162 collapsed on the same task
(docs/benchmarks.md, lab notebook: a collapse guard). The guard watches the run itself. After
every epoch it is fed the epoch's mean training loss :math:`L_e`; with :math:`L^*` the best so
far and :math:`L_1` the first, the epoch **loses its progress** when

.. math::

    L_e > L^* + \text{lost} \cdot (L_1 - L^*)

or :math:`L_e` is not finite (with ``rise`` > 0, the epoch must also exceed the best by that
share of it: :math:`L_e > L^* + \text{rise}\,|L^*|`). ``streak`` such epochs in a row (or one
non-finite loss) make the guard fire: the caller restores the last copy of the model and
optimizer taken at an epoch that passed, and multiplies every later rate by ``backoff``; at most
``tries`` times a run.

The object holds only the decision (plain numbers, :meth:`CollapseGuard.state_dict` is JSON);
the copies of the weights are the caller's (each framework's adapter holds them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..validation import MAX_STEPS, fail, integer, real
from ._monitor import _number

__all__ = ["CollapseGuard", "GUARD_ACTIONS"]

_FORMAT = "clr-collapse-guard/1"
_STATE_KEYS = frozenset(("format", "config", "epochs", "first", "best", "failing", "fired"))
#: What :meth:`CollapseGuard.update` can return.
GUARD_ACTIONS = ("keep", "wait", "restore", "diverged")


class CollapseGuard:
    r"""Calls a collapse from each epoch's mean training loss.

    With :math:`L^*` the lowest epoch loss so far and :math:`L_1` the first, epoch :math:`e`
    loses its progress when

    .. math::

        \bigl(L_e > L^* + \text{lost} \cdot (L_1 - L^*) \;\text{and}\;
        L_e > L^* + \text{rise} \cdot |L^*|\bigr) \quad\text{or}\quad L_e \notin \mathbb{R}

    and the guard fires after ``streak`` such epochs in a row (at once on a non-finite loss),
    ``tries`` times at most; after :math:`k` fires the rates are scaled by
    :math:`\text{backoff}^k`.

    Parameters
    ----------
    lost : float
        The share of the progress since the first epoch an epoch may lose, in ``(0, 1]``.
    streak : int
        Epochs in a row that must lose it before the guard fires (``>= 1``); a non-finite loss
        fires at once.
    backoff : float
        The factor on every later rate each time it fires, in ``(0, 1)``.
    tries : int
        The most times it fires in a run (``>= 0``).
    rise : float
        The least rise above the best loss, as a share of it, that counts as a loss of
        progress (``>= 0``; 0 adds no condition). On a plateau near the start,
        :math:`L_1 - L^*` is the size of the noise, and half of it is crossed by a wobble; a
        tenth of :math:`|L^*|` is not. A state saved before this keyword existed loads with
        ``rise=0``, what it ran with.

    Examples
    --------
    Take a copy of the model and optimizer before the first epoch and on every ``"keep"``;
    on ``"restore"``, load the last copy and multiply the rates by :attr:`scale` from then on:

    >>> guard = CollapseGuard()
    >>> [guard.update(x) for x in (2.3, 0.9, 0.5, 1.9, 2.0)]
    ['keep', 'keep', 'keep', 'wait', 'restore']
    >>> guard.scale, guard.fired
    (0.5, (4,))
    >>> CollapseGuard.from_state_dict(guard.state_dict()).state_dict() == guard.state_dict()
    True
    """

    def __init__(
        self,
        *,
        lost: float = 0.5,
        streak: int = 2,
        backoff: float = 0.5,
        tries: int = 3,
        rise: float = 0.1,
    ) -> None:
        self.lost = real("lost", lost, low=0.0, high=1.0, low_open=True)
        self.streak = integer("streak", streak, low=1, high=MAX_STEPS)
        self.backoff = real("backoff", backoff, low=0.0, high=1.0, low_open=True, high_open=True)
        self.tries = integer("tries", tries, low=0, high=MAX_STEPS)
        self.rise = real("rise", rise, low=0.0)
        self.epochs = 0  # epochs fed so far
        self.first: float | None = None  # the first epoch's loss that passed
        self.best: float | None = None  # the lowest epoch loss that passed
        self.failing = 0  # epochs in a row that lost the progress
        self._fired: list[int] = []  # the epochs (0-based) at which it fired

    @property
    def fired(self) -> tuple[int, ...]:
        """The epochs (counted from 0) at which the guard fired."""
        return tuple(self._fired)

    @property
    def scale(self) -> float:
        """The factor on the rates now: ``backoff`` to the number of times it fired."""
        return float(self.backoff ** len(self._fired))

    def update(self, loss: Any) -> str:
        """Feed the mean training loss of the next epoch; returns what to do now.

        ``"keep"``: the epoch passed, take a copy. ``"wait"``: it lost the progress, take no
        copy. ``"restore"``: the guard fired, load the last copy and use :attr:`scale`.
        ``"diverged"``: a non-finite loss with no tries left.
        """
        value = _number("loss", loss)
        epoch = self.epochs
        self.epochs += 1
        finite = math.isfinite(value)
        if not finite:
            lost = True
        elif self.first is None or self.best is None:
            lost = False  # the first epoch that passes sets L_1
        else:
            lost = value > self.best + self.lost * (self.first - self.best) and (
                value > self.best + self.rise * abs(self.best)
            )
        if not lost:
            self.failing = 0
            if self.first is None:
                self.first = value
            self.best = value if self.best is None else min(self.best, value)
            return "keep"
        self.failing += 1
        if len(self._fired) < self.tries and (not finite or self.failing >= self.streak):
            self.failing = 0
            self._fired.append(epoch)
            return "restore"
        return "wait" if finite else "diverged"

    # ------------------------------------------------------------------ state

    def config(self) -> dict[str, Any]:
        """The constructor's keywords as plain data."""
        return {"lost": self.lost, "streak": self.streak, "backoff": self.backoff,
                "tries": self.tries, "rise": self.rise}  # fmt: skip

    def state_dict(self) -> dict[str, Any]:
        """Plain JSON data: the configuration and the decision so far."""
        return {
            "format": _FORMAT,
            "config": self.config(),
            "epochs": self.epochs,
            "first": self.first,
            "best": self.best,
            "failing": self.failing,
            "fired": list(self._fired),
        }

    @classmethod
    def from_state_dict(cls, state: Any) -> CollapseGuard:
        """Rebuild from :meth:`state_dict` data (untrusted: every field is checked, and
        against the others, before an object is made)."""
        if not isinstance(state, Mapping) or state.get("format") != _FORMAT:
            raise fail("state", f"a CollapseGuard.state_dict() ({_FORMAT})", state)
        if set(state) != _STATE_KEYS:
            keys = sorted(map(str, state))
            raise fail("state", f"a dict with exactly the keys {sorted(_STATE_KEYS)}", keys)
        config = state["config"]
        known = set(cls().config())
        # a state saved before `rise` existed (the same format) has no such key: rise 0
        if not isinstance(config, Mapping) or set(config) not in (known, known - {"rise"}):
            raise fail("state['config']", f"a dict with the keys {sorted(known)}", config)
        new = cls(**{"rise": 0.0, **dict(config)})
        epochs = integer("state['epochs']", state["epochs"], low=0, high=MAX_STEPS)
        failing = integer("state['failing']", state["failing"], low=0, high=epochs)
        fired = state["fired"]
        if not isinstance(fired, list) or len(fired) > new.tries:
            raise fail("state['fired']", f"a list of at most tries={new.tries} epochs", fired)
        checked: list[int] = []
        for i, e in enumerate(fired):
            low = checked[-1] + 1 if checked else 0
            checked.append(integer(f"state['fired'][{i}]", e, low=low, high=epochs - 1))
        first, best = state["first"], state["best"]
        if (first is None) != (best is None):
            raise fail("state['best']", "given exactly when state['first'] is", best)
        if first is not None:
            first = real("state['first']", first)
            best = real("state['best']", best, high=first)
        elif epochs != failing + len(fired):
            raise fail("state['first']", "a loss once an epoch has passed", first)
        if len(fired) < new.tries and failing >= new.streak:
            raise fail("state['failing']", f"< streak={new.streak} while tries are left", failing)
        new.epochs, new.first, new.best, new.failing = epochs, first, best, failing
        new._fired = checked
        return new

    def __repr__(self) -> str:
        return (f"CollapseGuard(lost={self.lost!r}, streak={self.streak!r}, "
                f"backoff={self.backoff!r}, tries={self.tries!r}, rise={self.rise!r})")  # fmt: skip
