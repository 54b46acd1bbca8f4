"""Changing an optimizer only while the model's train function runs.

Keras 3 optimizers keep ``momentum`` / ``beta_1`` as Python floats that a
compiled train function (``tf.function``, XLA, ``jax.jit``) reads once, at
trace time. A callback that must change such a value per step therefore
changes it *inside* the train step: :class:`TrainStepCallback` wraps
``model.train_function`` for the length of one ``fit``, and its subclass's
:meth:`~TrainStepCallback._run` puts stand-ins in the optimizer, calls the
traced function and puts the originals back in a ``finally`` clause. Outside
the call (where callbacks, saving and checkpointing run) the optimizer is the
one the user built.

Guarantees, whatever ends the fit (normally, an exception, ``KeyboardInterrupt``):

* the wrapper only acts on a batch armed by its own callback in its own fit;
  a wrapper left on ``model.train_function`` by an interrupted fit runs the
  plain function and unwraps itself on its next call;
* a wrapper of a callback of the *same* fit is never discarded: a second such
  callback in one ``fit`` is refused (two callbacks would drive the same
  hyper-parameters), with a ``ValueError`` before any step;
* the train function traced here holds the stand-ins, so it never outlives the
  fit: the function that was there before is put back at the end.
"""

from __future__ import annotations

import functools
from typing import Any

import keras

__all__ = ["TrainStepCallback", "fresh_train_function", "setattr_plain"]


def setattr_plain(obj: Any, name: str, value: Any) -> None:
    """Set an attribute without the optimizer's variable tracking (nothing joins its state)."""
    object.__setattr__(obj, name, value)


def fresh_train_function(model: Any) -> Any:
    """A newly traced train function of ``model``; ``model.train_function`` is left as it was
    (a function traced before holds the old values as constants)."""
    wrapper = model.train_function
    if keras.backend.backend() == "jax":
        # jax.jit caches a trace per function, and `jit(model.train_step)` made twice
        # shares one cache (bound methods compare equal): the old trace, old constants
        # and all, would run again. A new callable for the step gets a new trace.
        own = model.__dict__.get("train_step")
        setattr_plain(model, "train_step", functools.partial(model.train_step))
        try:
            model.make_train_function(force=True)
        finally:
            if own is None:
                object.__delattr__(model, "train_step")
            else:
                setattr_plain(model, "train_step", own)
    else:
        model.make_train_function(force=True)
    fresh = model.train_function
    model.train_function = wrapper
    return fresh


class TrainStepCallback(keras.callbacks.Callback):  # type: ignore[misc]
    """A callback whose subclass changes the optimizer only inside the train step."""

    def __init__(self) -> None:
        super().__init__()
        self._wrapped: Any = None  # the wrapper on model.train_function
        self._fresh: Any = None  # the function traced for this fit, which the wrapper calls
        self._armed = False

    # -- for subclasses --------------------------------------------------------------------
    def _run(self, fresh: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Call ``fresh(*args, **kwargs)`` for one armed batch (override)."""
        return fresh(*args, **kwargs)

    def _describe(self) -> str:
        return type(self).__name__

    # -- the wrapper -----------------------------------------------------------------------
    def _is_live(self, wrapper: Any) -> bool:
        """Whether ``wrapper`` belongs to another callback of this very fit."""
        owner = getattr(wrapper, "_clr_owner", None)
        params = getattr(self, "params", None)
        return (
            owner is not None
            and owner is not self
            and bool(params)
            and getattr(owner, "params", None) is params
            and getattr(owner, "_wrapped", None) is wrapper
        )

    def _install(self) -> None:
        """Wrap a freshly traced train function (call in ``on_train_begin``)."""
        model = self.model
        previous = model.train_function
        while getattr(previous, "_clr_previous", None) is not None:
            if self._is_live(previous):
                other = previous._clr_owner._describe()
                raise ValueError(
                    f"{self._describe()} and {other} both drive the optimizer's hyper-parameters "
                    "inside the train step; use one of them per fit (AutoOneCycleCallback cycles "
                    "momentum itself: pass momentum=None to leave it alone)."
                )
            previous = previous._clr_previous  # a wrapper left by an interrupted fit
        self._fresh = self._trace()

        @functools.wraps(self._fresh)
        def train_function(*args: Any, **kwargs: Any) -> Any:
            if not self._armed or self._wrapped is not train_function:
                # Not called from this callback's fit (a later fit without it, after an
                # interruption): put the plain train function back and run that.
                if getattr(model, "train_function", None) is train_function:
                    model.train_function = previous
                return previous(*args, **kwargs)
            self._armed = False
            return self._run(self._fresh, args, kwargs)

        train_function._clr_previous = previous  # type: ignore[attr-defined]
        train_function._clr_owner = self  # type: ignore[attr-defined]
        model.train_function = train_function
        self._wrapped = train_function

    def _trace(self) -> Any:
        """A fresh train function (one traced before holds the old values as constants)."""
        return fresh_train_function(self.model)

    def _retrace(self) -> None:
        """Trace again mid-fit (the stand-ins changed); the wrapper stays in place."""
        if self._wrapped is not None:
            self._fresh = self._trace()

    def _remove(self) -> None:
        """Put back the train function that was there before (call in ``on_train_end``)."""
        wrapped: Any = self._wrapped
        self._wrapped = self._fresh = None
        self._armed = False
        model = self.model
        if wrapped is not None and getattr(model, "train_function", None) is wrapped:
            model.train_function = getattr(wrapped, "_clr_previous", None)
