"""Default names of the entries a spec leaves unnamed: conv1, maxpool1, flatten, relu1, relu2."""

from __future__ import annotations

from collections import Counter


def default_names(stems: list[tuple[str, bool]], given: list[str | None]) -> list[str]:
    """A name for each unnamed entry of one scope, avoiding the names given explicitly.

    ``stems`` holds each entry's (stem, always numbered). Always-numbered stems count from 1
    (conv1, as in the classic tutorial); the others are numbered only when the stem occurs more
    than once in the scope (flatten, but relu1, relu2).

    >>> default_names([("conv", True), ("maxpool", True), ("flatten", False), ("linear", True),
    ...                ("linear", True)], [None] * 5)
    ['conv1', 'maxpool1', 'flatten', 'linear1', 'linear2']
    """
    counts = Counter(stem for stem, _ in stems)
    taken = {g for g in given if g is not None}
    seen: Counter[str] = Counter()
    names = []
    for (stem, always), explicit in zip(stems, given, strict=True):
        if explicit is not None:
            names.append(explicit)
            continue
        numbered = always or counts[stem] > 1
        while True:
            seen[stem] += 1
            name = f"{stem}{seen[stem]}" if numbered else stem
            if name not in taken:
                break
            numbered = True
        taken.add(name)
        names.append(name)
    return names
