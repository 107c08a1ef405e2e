"""Chinese text analysis, done in Python for every backend.

The Elasticsearch we ship against may be a stock server without plugins (the
development build even lacks ``analysis-common``), so nothing here relies on
server-side analysers: documents and queries are turned into space-separated
tokens here and indexed with the core ``whitespace`` analyser. The embedded
backend (SQLite FTS5) indexes the very same strings, so both rank the same
tokens.

One pipeline, used for documents and queries alike:

1. ``normalize``: NFKC (full-width ＪＡＶＡ → JAVA), lower case, traditional →
   simplified (OpenCC ``t2s``).
2. ``words``: jieba's search segmentation (overlapping words: 马克思主义 gives
   马克思, 主义, 马克思主义), with every course name and student abbreviation
   added to its dictionary so 马原 or 中级财务会计 stay whole.
3. ``bigrams``: overlapping CJK character pairs, for recall where jieba splits
   differently in a document and in a query.
4. Synonyms from the catalogue: an abbreviation (马原) in a query also asks for
   its full name; documents carry their course's abbreviations.
5. Pinyin and initials (kuaiji, kj → 会计) for suggestions.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import jieba
import opencc
from pypinyin import Style, lazy_pinyin

# Latin words keep + and # so C++ and C# stay distinct from C.
LATIN_WORD = re.compile(r"[a-z0-9][a-z0-9+#._-]*")
CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# A national course code: five digits (00015), or an old-style letter code.
COURSE_CODE = re.compile(r"^\d{5}$")
# A token that is only punctuation or space carries no meaning for search.
MEANINGFUL = re.compile(r"[0-9a-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Letters only, two or more: maybe pinyin (kuaiji) or initials (kj).
PINYIN_QUERY = re.compile(r"[a-z]{2,24}")
# 「第三章 」, 「导论 」: chapter numbering is not what a learner types.
CHAPTER_PREFIX = re.compile(r"^(第[一二三四五六七八九十百0-9]+[章编篇节]|导论|绪论)\s*")
# Suggestion keys: prefixes of each pinyin/character suffix up to this length.
# Longer prefixes do not narrow a suggestion list that is already short.
SUGGEST_PREFIX_MAX = 24

_lock = threading.Lock()
_converter = opencc.OpenCC("t2s")


@cache
def _catalogue() -> dict[str, Any]:
    # Imported lazily: cms imports models, and analysis is also used before
    # Django is set up (the benchmark prints, the embedded index).
    from cms.services import catalog_read

    return catalog_read()


@dataclass(frozen=True)
class Synonyms:
    """Student abbreviations and the full names they stand for (from the catalogue)."""

    # abbreviation → full names (normalised); one abbreviation may name several.
    expansions: dict[str, tuple[str, ...]]
    # full name → abbreviations, for documents.
    abbreviations: dict[str, tuple[str, ...]]

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> Synonyms:
        expansions: dict[str, list[str]] = {}
        abbreviations: dict[str, list[str]] = {}
        for short, full in pairs:
            short_n, full_n = normalize(short), normalize(full)
            expansions.setdefault(short_n, []).append(full_n)
            abbreviations.setdefault(full_n, []).append(short_n)
        return cls(
            expansions={key: tuple(value) for key, value in expansions.items()},
            abbreviations={key: tuple(value) for key, value in abbreviations.items()},
        )


@cache
def synonyms() -> Synonyms:
    return Synonyms.from_pairs((short, full) for short, full in _catalogue()["synonyms"])


@cache
def _tokenizer() -> jieba.Tokenizer:
    """A private jieba tokenizer (not the global one: other code may use jieba
    with its own words) that knows every course name and abbreviation."""
    tokenizer = jieba.Tokenizer()
    # jieba logs the dictionary load at INFO on every process start.
    jieba.setLogLevel(30)
    tokenizer.initialize()
    catalogue = _catalogue()
    names = [course["name"] for course in catalogue["courses"]]
    for name in names:
        core = re.sub(r"（[^）]*）", "", normalize(name))
        if len(core) >= 2:
            tokenizer.add_word(core, freq=2000)
    for short, full in synonyms().expansions.items():
        tokenizer.add_word(short, freq=2000)
        for name in full:
            core = re.sub(r"（[^）]*）", "", name)
            tokenizer.add_word(core, freq=2000)
    return tokenizer


def warm_up() -> None:
    """Load the dictionary now (~1 s) rather than on the first request."""
    with _lock:
        _tokenizer()


def normalize(text: str) -> str:
    """Width, case and script folding: ＪＡＶＡ語言 → java语言."""
    return _converter.convert(unicodedata.normalize("NFKC", text).lower())


# The blocks jieba segments one by one (its own ``re_han_default``, plus CJK
# extension A): segmenting block by block gives the same tokens as the whole.
SEGMENT_BLOCK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fd5a-zA-Z0-9+#&._%\-]+")
# Blocks (clauses between punctuation) repeat a lot across documents: course
# names, chapter topics, knowledge points, templated summaries. Caching their
# segmentation cut the full rebuild's document building from 34 s to 6 s
# (demo network: 16k distinct blocks, 262k cache hits).
SEGMENT_CACHE_SIZE = 200_000


@lru_cache(maxsize=SEGMENT_CACHE_SIZE)
def _segment_block(block: str) -> tuple[str, ...]:
    return tuple(
        token
        for token in (raw.strip() for raw in _tokenizer().cut_for_search(block, HMM=False))
        if token and MEANINGFUL.search(token)
    )


def _segments(text: str) -> Iterator[str]:
    for block in SEGMENT_BLOCK.findall(text):
        yield from _segment_block(block)


def words(text: str, *, normalized: bool = False) -> list[str]:
    """Search words of ``text``: jieba segments, Latin words kept whole (c++, java)."""
    text = text if normalized else normalize(text)
    out: list[str] = []
    for token in _segments(text):
        if CJK_RUN.fullmatch(token):
            out.append(token)
        else:
            # jieba splits c++ into c, +, +; take Latin words from the raw text instead.
            out.extend(LATIN_WORD.findall(token))
    # jieba drops '+' around Latin words, so read them from the text itself.
    out.extend(word for word in LATIN_WORD.findall(text) if word not in out)
    return out


def bigrams(text: str, *, normalized: bool = False) -> list[str]:
    """Overlapping CJK character pairs (and single characters of one-character
    runs), plus Latin words: recall when segmentation differs."""
    text = text if normalized else normalize(text)
    out: list[str] = []
    for run in CJK_RUN.findall(text):
        if len(run) == 1:
            out.append(run)
        out.extend(run[index : index + 2] for index in range(len(run) - 1))
    out.extend(LATIN_WORD.findall(text))
    return out


def course_codes(text: str) -> list[str]:
    """Course codes written in ``text`` (a learner may type 00015 or ００015)."""
    return [token for token in LATIN_WORD.findall(normalize(text)) if COURSE_CODE.match(token)]


def joined(tokens: Iterable[str]) -> str:
    """Tokens as the whitespace analyser reads them."""
    return " ".join(token for token in tokens if token)


# -- documents -----------------------------------------------------------------


def abbreviations_of(name: str) -> list[str]:
    """Student abbreviations of a course name: 中国近现代史纲要 → 近代史, 史纲."""
    return list(synonyms().abbreviations.get(normalize(name), ()))


# -- queries -------------------------------------------------------------------


@dataclass(frozen=True)
class AnalysedQuery:
    text: str  # normalised
    words: tuple[str, ...]
    bigrams: tuple[str, ...]
    codes: tuple[str, ...]
    # Full names the query's abbreviations stand for (马原 → 马克思主义基本原理概论).
    expansions: tuple[str, ...]
    # A query in pinyin or initials (kuaiji, kj) is looked up among the
    # suggestion keys of courses and chapters; None for any other query.
    pinyin_key: str | None = None

    @property
    def highlight_terms(self) -> tuple[str, ...]:
        """What to mark in a snippet: longest first, so 会计学 wins over 会计."""
        terms = {*self.words, *self.codes, *self.expansions}
        return tuple(sorted((term for term in terms if term), key=len, reverse=True))


def analyse_query(query: str) -> AnalysedQuery:
    text = normalize(query)
    expansions: list[str] = []
    table = synonyms().expansions
    for short, full in table.items():
        if short in text:
            expansions.extend(full)
    return AnalysedQuery(
        text=text,
        words=tuple(dict.fromkeys(words(text, normalized=True))),
        bigrams=tuple(dict.fromkeys(bigrams(text, normalized=True))),
        codes=tuple(dict.fromkeys(course_codes(text))),
        expansions=tuple(dict.fromkeys(expansions)),
        pinyin_key=suggest_key(text) if PINYIN_QUERY.fullmatch(text) else None,
    )


# -- pinyin suggestions --------------------------------------------------------


def pinyin(text: str) -> str:
    """Toneless pinyin without spaces: 会计 → kuaiji. Latin stays as it is."""
    return "".join(lazy_pinyin(normalize(text), errors="default")).replace(" ", "")


def initials(text: str) -> str:
    """First letters: 会计 → kj."""
    return "".join(lazy_pinyin(normalize(text), style=Style.FIRST_LETTER)).replace(" ", "")


def suggest_keys(title: str) -> list[str]:
    """Every prefix of every word-start suffix of the title, in characters,
    pinyin and initials, so 基础会计学 is found by 基础, 会计, kuaiji, kj, jckj…"""
    text = normalize(title)
    text = re.sub(r"（[^）]*）|\([^)]*\)", "", text)
    # Word starts from search-mode segmentation (基础会计学 → 基础, 会计, 会计学…),
    # so 会计 is found inside 基础会计学. A start strictly inside a short word
    # (计学 inside 会计学) is not one a learner types; long words are the
    # course names we added, which would hide every inner start.
    segments = [
        (start, end)
        for word, start, end in _tokenizer().tokenize(text, mode="search", HMM=False)
        if MEANINGFUL.search(word)
    ]
    short_words = [(start, end) for start, end in segments if end - start <= 4]
    starts = sorted(
        {
            start
            for start, _ in segments
            if not any(outer < start < outer_end for outer, outer_end in short_words)
        }
    )
    keys: set[str] = set()
    for start in starts:
        suffix = "".join(piece for piece in text[start:] if MEANINGFUL.match(piece))
        for form in (suffix, pinyin(suffix), initials(suffix)):
            for end in range(1, min(len(form), SUGGEST_PREFIX_MAX) + 1):
                keys.add(form[:end])
    return sorted(keys)


def suggest_key(prefix: str) -> str:
    """The key a typed prefix is looked up by (same folding as ``suggest_keys``)."""
    return normalize(prefix).replace(" ", "")[:SUGGEST_PREFIX_MAX]


# -- highlighting --------------------------------------------------------------


def highlight(text: str, terms: Iterable[str], *, fragment: int = 80) -> str | None:
    """The first ``fragment`` characters around the first match, with matches in
    ``<em>``; ``None`` if nothing matches. Text is HTML-escaped.

    Matching runs on the normalised text; normalisation keeps one character per
    character for the scripts we index, so positions map back to the original.
    When it does not (rare compatibility characters), we match on the original.
    """
    from html import escape

    terms = [term for term in terms if term]
    if not text or not terms:
        return None
    folded = normalize(text)
    haystack = folded if len(folded) == len(text) else text.lower()
    marks = [False] * len(text)
    for term in terms:
        start = haystack.find(term)
        while start != -1:
            for index in range(start, start + len(term)):
                marks[index] = True
            start = haystack.find(term, start + len(term))
    if not any(marks):
        return None
    first = marks.index(True)
    begin = max(0, first - fragment // 4)
    end = min(len(text), begin + fragment)
    out: list[str] = ["…" if begin else ""]
    inside = False
    for index in range(begin, end):
        if marks[index] and not inside:
            out.append("<em>")
            inside = True
        elif not marks[index] and inside:
            out.append("</em>")
            inside = False
        out.append(escape(text[index]))
    if inside:
        out.append("</em>")
    if end < len(text):
        out.append("…")
    return "".join(out)
