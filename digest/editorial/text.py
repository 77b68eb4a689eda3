"""Text helpers shared by the editorial stages.

Everything here is pure and cheap: plain functions over strings, no state between calls.

- :func:`clean_text` turns an item's text (or a feed description that still carries markup)
  into plain readable prose without feed noise ("Continue reading...", "The post ... appeared
  first on ...", photo credits, bylines).
- :func:`tokens` turns text into lower-case matching tokens: accents folded, "U.S." -> "us",
  possessives dropped and a light plural stemming applied, so that topic phrases match
  "tariffs", "Huawei's" or "U.S." without regular expressions per term. Tokens are Unicode
  words: Cyrillic, Greek or Korean words are tokens like English ones, and Chinese or Japanese
  text (written without spaces) gives overlapping pairs of characters, so that an item in any
  script is scored and clustered, and a topic term in that script ("出口管制") matches it.
- :func:`content_words` keeps the tokens that carry meaning (no stop words, no numbers).
- :func:`split_sentences` splits prose into sentences, each a verbatim substring of its input.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

__all__ = [
    "STOP_WORDS",
    "clean_text",
    "content_words",
    "normalize",
    "split_sentences",
    "stem",
    "strip_markup",
    "tokens",
    "word_count",
]

# --- markup and feed noise ------------------------------------------------------------------

_TAG = re.compile(r"<[^>]*>")
_BLOCK_TAG = re.compile(
    r"</?(?:p|div|br|li|ul|ol|h[1-6]|blockquote|figure|figcaption|tr|table)\b[^>]*>", re.I
)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2009\u200a\u202f]+")
_NEWLINES = re.compile(r"\s*\n\s*")

#: Feed noise, removed wherever it appears: (cheap trigger words, pattern). A pattern only runs
#: when one of its trigger words is in the lower-cased text, which keeps cleaning fast.
_BOILERPLATE: list[tuple[tuple[str, ...], re.Pattern[str]]] = [
    # "The post <title> appeared first on <site>."
    (
        ("appeared first",),
        re.compile(r"\bThe post\b.{0,300}?\bappeared first on\b[^.\n]*\.?", re.I | re.S),
    ),
    (
        ("originally", "first published", "first appeared", "was published"),
        re.compile(
            r"\bThis (?:article|story|post) (?:was )?(?:originally |first )?(?:appeared|published)"
            r" (?:on|in|at)\b[^\n]*",
            re.I,
        ),
    ),
    (
        ("reading",),
        re.compile(r"\b(?:Continue|Keep) reading\b\s*(?:\.\.\.|…)?[^\n]*$", re.I | re.M),
    ),
    (
        ("read more", "read the full"),
        re.compile(
            r"\bRead (?:more|the full (?:story|article))\b\s*(?:here|»|›|\.\.\.|…)?\s*\.?", re.I
        ),
    ),
    # newsletter and alert promotions: "Receive free China updates", "Sign up to our newsletter"
    (
        ("receive free", "get free", "sign up", "subscribe to"),
        re.compile(
            r"\b(?:(?:Receive|Get) free\b[^.\n]{0,120}?\b(?:updates?|alerts?|newsletters?)|"
            r"(?:Sign up|Subscribe) (?:to|for)\b[^.\n]{0,120}?\b(?:newsletters?|updates?|alerts?|"
            r"emails?|briefings?))\b[^.\n]{0,80}\.?",
            re.I,
        ),
    ),
    (("comments",), re.compile(r"\bComments (?:are|have been) closed\b\.?", re.I)),
    (("premoderated",), re.compile(r"\bComments on this piece are premoderated\b[^\n]*", re.I)),
    # photo credits: "Photo by Jane Doe / Outlet", "Photograph: Jane Doe/AFP"
    (
        ("photo", "image", "illustration", "picture"),
        re.compile(
            r"\(?\b(?:Photo(?:graph)?s?|Image|Illustration|Photo illustration|Picture)s?"
            r"(?: credit)?(?: by|:)\s[^\n.]{0,80}?(?:/\s?[A-Z][\w.&' -]{1,40})*(?=\s{2,}|\n|$|\)|\.\s)\)?",  # noqa: E501
            re.M,
        ),
    ),
    (("getty",), re.compile(r"\(?\bGetty Images\b(?: for [A-Z][\w ]{0,30})?\)?\.?")),
    # bylines on a line of their own: "By Jane Doe", "By Jane Doe and John Roe, Reuters"
    (
        ("by ",),
        re.compile(
            r"^\s*By [A-Z][\w.'-]+(?: [A-Z][\w.'-]+){0,3}"
            r"(?:(?:,| and) [A-Z][\w.'-]+(?: [A-Z][\w.'-]+){0,3})*\s*$",
            re.M,
        ),
    ),
    # "[...]" and "[+1234 chars]" truncation markers
    (("[",), re.compile(r"\[(?:\.\.\.|…|\+\d+ chars)\]")),
]


def strip_markup(text: str) -> str:
    """Remove HTML tags and decode entities; block elements become line breaks."""
    if "<" in text:
        text = _BLOCK_TAG.sub("\n", text)
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    return text


def clean_text(text: str) -> str:
    """Plain prose of `text`: markup stripped, feed boilerplate removed, spaces normalized.

    Paragraph breaks are kept as single newlines so sentences never run across them.
    """
    if not text:
        return ""
    text = strip_markup(text)
    text = _SPACES.sub(" ", text)
    lowered = text.lower()
    removed = False
    for triggers, pattern in _BOILERPLATE:
        if any(trigger in lowered for trigger in triggers):
            text = pattern.sub(" ", text)
            removed = True
    if removed:
        text = _SPACES.sub(" ", text)
    if "\n" in text:
        text = _NEWLINES.sub("\n", text)
    return text.strip()


# --- tokens ---------------------------------------------------------------------------------

_ABBREVIATIONS = {
    "u.s.a.": "usa",
    "u.s.": "us",
    "u.k.": "uk",
    "e.u.": "eu",
    "u.n.": "un",
    "p.r.c.": "prc",
}
_ABBREV_RE = re.compile(r"(?<![\w.])(?:u\.s\.a\.|u\.s\.|u\.k\.|e\.u\.|u\.n\.|p\.r\.c\.)", re.I)
_ABBREV_HINTS = ("u.s.", "u.k.", "e.u.", "u.n.", "p.r.c.")
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
#: Runs of Chinese characters and Japanese kana, written without spaces between words.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
#: A word in any script: letters and digits, no underscore.
_WORD = re.compile(r"[^\W_]+")
_POSSESSIVE = re.compile(r"(?<=\w)['’]s\b")
_NON_WORD = re.compile(r"[^a-z0-9]+")

STOP_WORDS = frozenset(
    """
    a about above after again against ago all also am an and any are around as at be
    because been before being below between both but by can could did do does doing down
    during each even ever every few for from further had has have having he her here hers
    herself him himself his how i if in into is it its itself just least less like made
    make many may me might more most much must my myself new news no nor not now of off on
    once one only or other our ours out over own per said same say says see she should
    since so some still such than that the their theirs them themselves then there these
    they this those though through to too under until up upon us very via was we were what
    when where which while who whom whose why will with within without would yet you your
    yours week weeks day days year years month months today yesterday tomorrow monday
    tuesday wednesday thursday friday saturday sunday mr mrs ms according told tell get
    got go going two three first last latest live update updates
    """.split()  # noqa: SIM905
)


_PUNCTUATION = str.maketrans(
    {"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": " ", "\u00a0": " "}
)


def normalize(text: str) -> str:
    """Lower-case text with accents folded, abbreviations ("U.S.") joined, possessives dropped.

    Letters of other scripts are kept (compatibility forms such as full-width letters become
    their plain forms).
    """
    text = text.translate(_PUNCTUATION)
    if not text.isascii():
        # fold accents ("Café" -> "Cafe"), then put other scripts' marks back on their letters
        text = unicodedata.normalize("NFKD", text)
        text = _COMBINING.sub("", text)
        if not text.isascii():
            text = unicodedata.normalize("NFC", text)
    text = text.lower()
    # the regular expressions only run when their cheap hints are present
    if any(hint in text for hint in _ABBREV_HINTS):
        text = _ABBREV_RE.sub(lambda m: " " + _ABBREVIATIONS[m.group(0)] + " ", text)
    if "'" in text:
        text = _POSSESSIVE.sub("", text)
    return text


def stem(token: str) -> str:
    """A light plural stemmer, applied alike to topic terms and item text."""
    if len(token) <= 3 or not token.endswith("s") or token.endswith(("ss", "us", "is")):
        return token
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "y"
    if token.endswith(("ches", "shes", "xes", "sses")):
        return token[:-2]
    return token[:-1]


def tokens(text: str) -> list[str]:
    """Matching tokens of `text`: normalized, split into words, stemmed.

    Chinese and Japanese runs become overlapping character pairs ("出口管制" -> "出口", "口管",
    "管制"; a lone character stays itself), the usual way to index text without spaces.
    """
    text = normalize(text)
    if text.isascii():
        return [_stem_cached(tok) for tok in _NON_WORD.split(text) if tok]
    found: list[str] = []
    for word in _WORD.findall(text):
        if word.isascii():
            found.append(_stem_cached(word))
            continue
        start = 0
        for run in _CJK.finditer(word):
            if run.start() > start:
                found.append(_stem_cached(word[start : run.start()]))
            chars = run.group()
            found.extend(chars[k : k + 2] for k in range(max(1, len(chars) - 1)))
            start = run.end()
        if start < len(word):
            found.append(_stem_cached(word[start:]))
    return found


_stem_cached = lru_cache(maxsize=65536)(stem)


def content_words(toks: Iterable[str]) -> list[str]:
    """The tokens that carry meaning: no stop words, no bare numbers, no single letters."""
    return [t for t in toks if len(t) > 1 and t not in STOP_WORDS and not t.isdigit()]


def word_count(text: str) -> int:
    return len(text.split())


# --- sentences ------------------------------------------------------------------------------

#: Words after which a full stop does not end a sentence.
_NO_BREAK_AFTER = frozenset(
    """
    mr mrs ms dr prof sr jr st gen col lt sgt gov sen rep rev vs etc inc corp co ltd jan
    feb mar apr jun jul aug sep sept oct nov dec fig approx est
    """.split()  # noqa: SIM905
)
_SENTENCE_END = re.compile(r"[.!?]+['\"’”)\]]*(?=\s+)")
_SENTENCE_START = re.compile(r"\s+['\"‘“(\[]?[A-Z0-9]")


def split_sentences(text: str) -> list[str]:
    """Sentences of `text` (already plain), each a verbatim substring, stripped.

    Breaks at ., ! or ? followed by a capitalised word, and always at line breaks; not after
    known abbreviations ("Mr.", "Oct.") or single initials ("U.S.", "J.").
    """
    sentences: list[str] = []
    for paragraph in text.split("\n"):
        start = 0
        for match in _SENTENCE_END.finditer(paragraph):
            end = match.end()
            if not _SENTENCE_START.match(paragraph, end):
                continue
            before = paragraph[start : match.start()].rsplit(None, 1)
            last_word = before[-1] if before else ""
            bare = last_word.strip("(\"'“‘").lower()
            if match.group(0).startswith(".") and (
                bare.rstrip(".") in _NO_BREAK_AFTER
                or re.fullmatch(r"(?:[a-z]\.)*[a-z]", bare) is not None
            ):
                continue
            sentence = paragraph[start:end].strip()
            if sentence:
                sentences.append(sentence)
            start = end
        rest = paragraph[start:].strip()
        if rest:
            sentences.append(rest)
    return sentences
