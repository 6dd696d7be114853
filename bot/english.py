"""A light English stemmer shared by the rooms that match English words (FAQ, garbage search).

Plurals (batteries → battery, boxes → box, knives → knife, shelves → shelf, potatoes → potato, cans → can) and,
for free text, the verb endings -ing/-ed (moving → mov, stopped → stop). Enough to meet 'bins'/'bin'; not a
linguistic stemmer. Both sides of a comparison must go through the same call.
"""

from __future__ import annotations


def stem_plural(word: str) -> str:
    """Plurals only: enough for item names."""
    if len(word) <= 3 or word.endswith("ss"):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("ives"):  # knives → knife
        return word[:-3] + "fe"
    if word.endswith(("lves", "eaves")):  # shelves → shelf, leaves → leaf
        return word[:-3] + "f"
    if word.endswith(("ches", "shes", "xes", "sses")) or (word.endswith("oes") and len(word) > 5):  # potatoes; shoes
        return word[:-2]
    if word.endswith("s") and not word.endswith(("us", "is")):
        return word[:-1]
    return word


def stem_en(word: str) -> str:
    """Plurals, and -ing/-ed: enough to meet 'moving'/'move', 'stopped'/'stop' in questions."""
    for suffix in ("ing", "ed"):
        if len(word) > 3 and word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
                stem = stem[:-1]  # stopped → stop, running → run
            return stem
    return stem_plural(word)
