"""Checks of a scene's values, each in one place: numbers, integers, colours and text that
matplotlib can draw. Every one raises SceneError naming the field.
"""
from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ..errors import SceneError


def _number(value: Any, field_name: str, *, positive: bool = False, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SceneError(field_name, "a number", value)
    number = float(value)
    if not math.isfinite(number):
        raise SceneError(field_name, "a finite number", value)
    if positive and number <= 0:
        raise SceneError(field_name, "a positive number", value)
    if minimum is not None and number < minimum:
        raise SceneError(field_name, f"a number >= {minimum:g}", value)
    return number


def _integer(value: Any, field_name: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise SceneError(field_name, f"an integer >= {minimum}", value)
    return int(value)


def _color(value: Any, field_name: str) -> str | None:
    if value is None:
        return None
    from matplotlib.colors import is_color_like

    if not isinstance(value, str) or not is_color_like(value):
        raise SceneError(field_name, "a matplotlib colour such as '#ff5a36' or 'tab:red'", value)
    return value


def _text(value: Any, field_name: str) -> None:
    """Text the painter will draw: a string, and valid mathtext where it has $...$ (checked now, not after
    training; matplotlib's own message spans several lines)."""
    if value is None:
        return
    if not isinstance(value, str):
        raise SceneError(field_name, "a string", value)
    from matplotlib import cbook

    if cbook.is_math_text(value):
        from matplotlib.mathtext import MathTextParser

        try:
            MathTextParser("path").parse(value)
        except ValueError as exc:
            raise SceneError(field_name, "text matplotlib can draw (valid mathtext between $ signs; \\$ for a dollar)",
                             " ".join(str(exc).split())) from None
