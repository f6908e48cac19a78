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


# Default of a renamed keyword argument kept under its old name: "not given".
DEPRECATED = "deprecated"


def renamed_argument(
    where: str, old: str, new: str, old_value, new_value, stacklevel: int = 4
):
    """The value of the keyword ``new``, or of ``old`` (whose default is
    ``DEPRECATED``) with a FutureWarning when a caller of ``where`` passed it."""
    if isinstance(old_value, str) and old_value == DEPRECATED:
        return new_value
    warn_renamed(f"{where}({old}=...)", f"{where}({new}=...)", stacklevel)
    return old_value


def warn_renamed(old: str, new: str, stacklevel: int = 3) -> None:
    """Warn that ``old`` is now ``new`` and will be removed."""
    warnings.warn(
        f"{old} was renamed {new}; the old name will be removed in a future release.",
        FutureWarning,
        stacklevel=stacklevel,
    )
