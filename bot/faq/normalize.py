"""Text normalisation shared by the index and the questions.

Graduates type full-width characters, traditional characters, homophone typos, English
loanwords, pinyin initials and emoji. Everything is folded to one form before matching:
NFKC, lower case, traditional to simplified (OpenCC), only CJK, ASCII letters and digits
kept, then the knowledge base's alias table applied.
"""

import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping

from opencc import OpenCC

_KEEP = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+")
_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+|[a-z]+|[0-9]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_ASCII_WORD = re.compile(r"[0-9a-z]+")


def mask_digits(text: str) -> str:
    """Replace every digit (ASCII, full-width or other) with '*' before a text is stored."""
    return "".join("*" if ch.isdigit() else ch for ch in text)


class Normalizer:
    """Folds a question to the matching form; built once from the knowledge base's aliases."""

    def __init__(self, aliases: Mapping[str, str]) -> None:
        self._t2s = OpenCC("t2s")
        self._touches = _t2s_trigger(self._t2s)
        self._aliases = {key.lower(): value for key, value in aliases.items()}
        keys = sorted(self._aliases, key=len, reverse=True)
        parts = [
            rf"(?<![0-9a-z]){re.escape(key)}(?![0-9a-z])"
            if _ASCII_WORD.fullmatch(key)
            else re.escape(key)
            for key in keys
        ]
        self._alias_re = re.compile("|".join(parts)) if parts else None

    def __call__(self, text: str) -> str:
        folded = unicodedata.normalize("NFKC", text).lower()
        if _CJK.search(folded) and (self._touches is None or self._touches(folded)):
            folded = self._t2s.convert(folded)
        folded = _KEEP.sub(" ", folded).strip()
        if self._alias_re is not None:
            folded = self._alias_re.sub(self._replace, folded)
        return folded

    def _replace(self, match: re.Match[str]) -> str:
        return self._aliases[match.group(0)]


def _t2s_trigger(converter: OpenCC) -> Callable[[str], bool] | None:
    """A test that is false only for text the converter would return unchanged.

    Conversion only changes text that contains one of its dictionary keys; checking for the
    keys first skips the slow pure-Python conversion for text that is already simplified.
    Reads the converter's loaded dictionaries (a private attribute of the pinned opencc);
    if their shape ever changes, every text is converted as before.
    """
    try:
        converter.convert("")
        tables = [table for group in converter._dict_chain_data for _, _, table in group]
        chars = {key for table in tables for key in table if len(key) == 1}
        phrases = sorted({key for table in tables for key in table if len(key) > 1})
    except (AttributeError, TypeError, ValueError):
        return None
    phrase_re = re.compile("|".join(map(re.escape, phrases))) if phrases else None

    def touches(text: str) -> bool:
        if not chars.isdisjoint(text):
            return True
        return phrase_re is not None and phrase_re.search(text) is not None

    return touches


def char_ngrams(normalized: str) -> Iterator[str]:
    """Character unigrams and bigrams of CJK runs, and whole ASCII words and numbers.

    Bigrams never cross a run boundary, so removed punctuation does not glue two words.
    """
    for match in _RUN.finditer(normalized):
        run = match.group(0)
        if not _CJK.match(run):
            yield run
            continue
        yield from run
        for i in range(len(run) - 1):
            yield run[i : i + 2]


def compact(normalized: str) -> str:
    """The normalised text without spaces, as the edit-distance re-rank compares it."""
    return normalized.replace(" ", "")
