"""Old names kept working for a while, with a FutureWarning pointing to the new one."""

from __future__ import annotations

import warnings


def renamed_property(new: str, old: str) -> property:
    """A read-only property ``old`` that warns and returns the attribute ``new``."""

    def getter(self):
        warn_renamed(f"{type(self).__name__}.{old}", f"{type(self).__name__}.{new}")
        return getattr(self, new)

    getter.__doc__ = f"Deprecated alias of ``{new}``."
    return property(getter)


def warn_renamed(old: str, new: str) -> None:
    """Warn that ``old`` is now ``new`` and will be removed."""
    warnings.warn(
        f"{old} was renamed {new}; the old name will be removed in a future release.",
        FutureWarning,
        stacklevel=3,
    )
