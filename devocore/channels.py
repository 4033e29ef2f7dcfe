"""Channel recipes: what each model input channel is made of.

A recipe is a short text, one part per model input channel, parts separated by ``;``:

* ``0``: channel 0 of the image as it is;
* ``random(0,1,2)``: one of the listed channels, drawn anew for every training sample;
* ``drop(1, 0.3)``: channel 1, blanked (all zeros) with probability 0.3 per training sample;
* ``merge(0,2)``: the mean of the listed channels (each normalised to 0..1 first);
* ``merge(0:0.2, 2:0.5)``: the mean of those listed channels that are drawn, each with its own probability
  (a channel without ``:p`` is always drawn); when none is drawn the input channel is blank.

Channels are numbered from 0 in the order the file stores them (ImageJ/OME "C" axis, or the last axis of a
Y x X x C image). ``"merge(0,1); drop(2,0.5)"`` makes a model with two input channels.

Training draws the random parts from a seeded generator (``rng``). **Inference is deterministic**
(``rng=None``): ``random(a,b,...)`` uses its *first* channel ``a`` (a channel the model saw on its own in
training, unlike a blend it never saw); ``drop(c, p)`` always keeps channel ``c``; ``merge`` includes every
listed channel whatever its probability. The recipe is stored in the model card (``channels``) and
:class:`devocore.segmentation.Predictor` applies it on every inference path (page, CLI, batch).

Example:
    >>> recipe = parse("merge(0,1); drop(2, 0.5)")
    >>> len(recipe), text(recipe)
    (2, 'merge(0,1); drop(2,0.5)')
    >>> image = np.stack([np.full((2, 2), v, np.float32) for v in (0.2, 0.4, 0.9)])
    >>> [round(float(v), 2) for v in apply(image, recipe)[:, 0, 0]]
    [0.3, 0.9]
    >>> try:
    ...     parse("merge(0,x)")
    ... except RecipeError as exc:
    ...     print(exc.position, exc.pointer())
    8 merge(0,x)
            ^
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from devocore.errors import DevocoreError

KINDS = ("channel", "random", "drop", "merge")
MAX_CHANNEL = 63  # a sanity bound: no microscope file holds more channels than this


class RecipeError(DevocoreError):
    """A channel recipe cannot be read (``position``: 0-based character where it goes wrong) or does not
    fit the image."""

    def __init__(self, message: str, recipe: str = "", position: int | None = None):
        if position is not None:
            message = (f"Channel recipe '{recipe}', character {position + 1}: {message} "
                       f"(here: '{recipe[:position]}>>{recipe[position:]}')")
        super().__init__(message + ".")
        self.recipe = recipe
        self.position = position

    def pointer(self) -> str:
        """Two lines: the recipe and a caret under the character where it goes wrong (for a page)."""
        if self.position is None:
            return self.recipe
        return f"{self.recipe}\n{' ' * self.position}^"


@dataclass(frozen=True)
class Part:
    """One model input channel.

    Attributes:
        kind: "channel", "random", "drop" or "merge".
        channels: source channel numbers (0-based).
        probs: per channel: the probability it is included (merge) / blanked (drop); 1.0 otherwise.
    """

    kind: str
    channels: tuple[int, ...]
    probs: tuple[float, ...] = ()

    def text(self) -> str:
        """The canonical text of this part (what the model card stores)."""
        if self.kind == "channel":
            return str(self.channels[0])
        if self.kind == "random":
            return "random(" + ",".join(map(str, self.channels)) + ")"
        if self.kind == "drop":
            return f"drop({self.channels[0]},{self.probs[0]:g})"
        items = [str(c) if p == 1.0 else f"{c}:{p:g}" for c, p in zip(self.channels, self.probs)]
        return "merge(" + ",".join(items) + ")"


Recipe = tuple[Part, ...]

_TOKEN = re.compile(r"\s*(?:(?P<number>\d+(?:\.\d*)?|\.\d+)|(?P<word>[A-Za-z_]+)|(?P<sym>[(),:;])|(?P<bad>\S))")


class _Reader:
    """A tiny recursive-descent reader over the tokens of one recipe text."""

    def __init__(self, source: str):
        self.source = source
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(source):
            found = _TOKEN.match(source, pos)
            if not found or found.end() == pos:  # only trailing blanks are left
                break
            kind = found.lastgroup
            value = found.group(kind)
            start = found.start(kind)
            if kind == "bad":
                raise RecipeError(f"unexpected character '{value}'", source, start)
            self.tokens.append((kind, value, start))
            pos = found.end()
        self.i = 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else ("end", "", len(self.source.rstrip()))

    def take(self):
        token = self.peek()
        self.i += 1
        return token

    def fail(self, message: str, token=None):
        token = token or self.peek()
        got = "the end of the recipe" if token[0] == "end" else f"'{token[1]}'"
        raise RecipeError(f"{message}, found {got}", self.source, token[2])

    def expect(self, symbol: str, what: str):
        token = self.peek()
        if token[0] != "sym" or token[1] != symbol:
            self.fail(f"expected {what}")
        return self.take()

    def channel(self) -> int:
        token = self.peek()
        if token[0] != "number" or not token[1].isdigit():
            self.fail("expected a channel number (0, 1, 2, ...)")
        value = int(token[1])
        if value > MAX_CHANNEL:
            raise RecipeError(f"channel {value} is beyond the largest allowed ({MAX_CHANNEL})", self.source, token[2])
        self.take()
        return value

    def probability(self) -> float:
        token = self.peek()
        if token[0] != "number":
            self.fail("expected a probability between 0 and 1")
        value = float(token[1])
        if not 0.0 <= value <= 1.0:
            raise RecipeError(f"the probability {token[1]} is not between 0 and 1", self.source, token[2])
        self.take()
        return value

    def part(self) -> Part:
        token = self.peek()
        if token[0] == "number":
            return Part("channel", (self.channel(),), (1.0,))
        if token[0] != "word":
            self.fail("expected a channel number or one of random(...), drop(...), merge(...)")
        word = token[1].lower()
        if word not in ("random", "drop", "merge"):
            raise RecipeError(f"unknown word '{token[1]}' (the valid ones are random, drop and merge)",
                              self.source, token[2])
        self.take()
        self.expect("(", f"'(' after {word}")
        if word == "drop":
            c = self.channel()
            self.expect(",", "',' and the probability of blanking the channel")
            p = self.probability()
            self.expect(")", "')'")
            return Part("drop", (c,), (p,))
        channels, probs = [], []
        while True:
            start = self.peek()
            c = self.channel()
            if c in channels:
                raise RecipeError(f"channel {c} is listed twice", self.source, start[2])
            p = 1.0
            if self.peek()[:2] == ("sym", ":"):
                if word == "random":
                    self.fail("random(...) takes channel numbers only: expected ',' or ')'")
                self.take()
                p = self.probability()
            channels.append(c)
            probs.append(p)
            if self.peek()[:2] == ("sym", ","):
                self.take()
                continue
            self.expect(")", "',' or ')'")
            break
        return Part(word, tuple(channels), tuple(probs))


def parse(source: str) -> Recipe:
    """The parts of a recipe text (see the module docstring).

    Raises:
        RecipeError naming what was expected and the character position where the text goes wrong.

    Example:
        >>> [p.kind for p in parse("0; random(0,1,2); drop(1, 0.3); merge(0:0.2, 2:0.5)")]
        ['channel', 'random', 'drop', 'merge']
    """
    source = str(source if source is not None else "")
    if not source.strip():
        raise RecipeError("The channel recipe is empty; write for example '0' or 'merge(0,1); 2'")
    reader = _Reader(source)
    parts = []
    while True:
        parts.append(reader.part())
        token = reader.peek()
        if token[0] == "end":
            break
        if token[:2] != ("sym", ";"):
            reader.fail("expected ';' between recipe parts or the end of the recipe")
        reader.take()
    return tuple(parts)


def text(recipe: Recipe | str) -> str:
    """The canonical text of a recipe (parts joined by '; ')."""
    recipe = parse(recipe) if isinstance(recipe, str) else recipe
    return "; ".join(part.text() for part in recipe)


def needed(recipe: Recipe) -> int:
    """How many source channels an image must have for ``recipe`` (largest channel number + 1)."""
    return 1 + max(c for part in recipe for c in part.channels)


def channels_first(image: np.ndarray) -> np.ndarray:
    """C x Y x X from a 2-D plane (C = 1), a Y x X x C plane (as :func:`devocore.io.read_image` gives) or a
    C x Y x X array: a 3-D array whose last axis is short (at most 8) and first long is Y x X x C, else C x Y x X.

    Example:
        >>> channels_first(np.zeros((20, 30, 3))).shape, channels_first(np.zeros((2, 20, 30))).shape
        ((3, 20, 30), (2, 20, 30))
    """
    image = np.asarray(image)
    if image.ndim == 2:
        return image[None]
    if image.ndim != 3:
        raise RecipeError(f"Expected one 2-D image with channels (Y x X x C or C x Y x X), got shape {image.shape}")
    if image.shape[-1] <= 8 and image.shape[0] > 8:
        return np.moveaxis(image, -1, 0)
    return image


def normalized(image: np.ndarray) -> np.ndarray:
    """C x Y x X float32, each channel stretched to 0..1 by :func:`devocore.io.normalize` on its own."""
    from devocore import io

    image = channels_first(image)
    return np.stack([io.normalize(plane) for plane in image]).astype(np.float32)


def apply(image: np.ndarray, recipe: Recipe | str, rng: np.random.Generator | None = None) -> np.ndarray:
    """The model input (len(recipe) x Y x X float32) of a C x Y x X image.

    Args:
        image: C x Y x X float (normalised channels, see :func:`normalized`).
        recipe: parts or recipe text.
        rng: a seeded generator in training; None at inference (deterministic; see the module docstring).

    Raises:
        RecipeError when the recipe names a channel the image does not have.
    """
    recipe = parse(recipe) if isinstance(recipe, str) else recipe
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3:
        raise RecipeError(f"Expected a C x Y x X image, got shape {image.shape}")
    if needed(recipe) > image.shape[0]:
        raise RecipeError(f"The recipe '{text(recipe)}' uses channel {needed(recipe) - 1}, but the image has "
                          f"{image.shape[0]} channel(s), numbered 0 to {image.shape[0] - 1}")
    out = np.empty((len(recipe),) + image.shape[1:], np.float32)
    for k, part in enumerate(recipe):
        if part.kind == "channel":
            out[k] = image[part.channels[0]]
        elif part.kind == "random":
            pick = part.channels[0] if rng is None else part.channels[int(rng.integers(len(part.channels)))]
            out[k] = image[pick]
        elif part.kind == "drop":
            blank = rng is not None and rng.random() < part.probs[0]
            out[k] = 0.0 if blank else image[part.channels[0]]
        else:
            chosen = [c for c, p in zip(part.channels, part.probs) if rng is None or p >= 1.0 or rng.random() < p]
            out[k] = image[list(chosen)].mean(axis=0) if chosen else 0.0
    return out


def model_input(plane: np.ndarray, recipe: Recipe | str, rng: np.random.Generator | None = None) -> np.ndarray:
    """:func:`apply` on a raw plane (Y x X, Y x X x C or C x Y x X, any dtype): channels normalised first."""
    return apply(normalized(plane), recipe, rng)


def from_card(card: dict | None) -> Recipe | None:
    """The recipe a model card stores (``channels``), or None for a single-channel grey model."""
    value = (card or {}).get("channels")
    return parse(value) if value else None
