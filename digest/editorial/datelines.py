"""Wire datelines: the "WASHINGTON —" that opens an agency story, trimmed off a summary sentence.

A dateline tells the reader where the reporter filed from; in a digest, under a byline that
already names the outlet, it is noise ("BEIJING, Oct 17 (Reuters) - China said..."). Shapes
recognised at the start of a sentence, followed by a dash (hyphen, en or em); a colon is not
taken, since "KENNEDY: China is..." names a columnist, whose opinion must stay attributed:

- a place in capitals, one or more words, several joined by "/": ``WASHINGTON``,
  ``HONG KONG``, ``SAN FRANCISCO/BEIJING``, optionally with a region (``TAIPEI, Taiwan``,
  ``WASHINGTON, D.C.``);
- then optionally a date (``, Oct 17``, ``, March 3``) and an agency in brackets (``(Reuters)``);
- a place written in ordinary case only with an agency (``Beijing (AFP) -``), and an agency
  alone (``(Reuters) -``), since "Beijing - a city of..." is prose, not a dateline.

Only whole datelines followed by a capitalised word are trimmed, and what remains is a verbatim
substring of the sentence, so a trimmed summary is still quoted from its source.
"""

from __future__ import annotations

import re

__all__ = ["strip_dateline"]

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DATE = rf"(?:,?\s+{_MONTH}\s+\d{{1,2}}(?:,\s*\d{{4}})?)"
_AGENCY = r"(?:\((?:[A-Z][\w.&'-]*)(?:\s[A-Z][\w.&'-]*){0,2}\))"
_DASH = r"(?:\s+[-–—]+|\s*[–—]+)\s+"
_CAPS_WORD = r"[A-Z][A-Z.'-]*[A-Z.]"
_CAPS_PLACE = rf"{_CAPS_WORD}(?:[ /]{_CAPS_WORD}){{0,4}}"
_REGION = r"(?:,\s+[A-Z][A-Za-z.]*(?:\s[A-Z][A-Za-z.]*){0,2})"
_CASED_PLACE = r"[A-Z][a-z]+(?:[ /][A-Z][a-z]+){0,3}"

_DATELINE = re.compile(
    rf"""^(?:
        (?P<caps>{_CAPS_PLACE}){_REGION}?{_DATE}?\s*{_AGENCY}?{_DASH}
      | {_CASED_PLACE}{_REGION}?{_DATE}?\s*{_AGENCY}{_DASH}
      | {_AGENCY}{_DASH}
    )(?=[\"'“‘(]?[A-Z0-9])""",
    re.X,
)
#: Fewer letters than this in an all-capitals place is more likely an acronym ("US - China").
_MIN_PLACE_LETTERS = 4


def strip_dateline(sentence: str) -> str:
    """`sentence` without a leading wire dateline (unchanged when it has none)."""
    match = _DATELINE.match(sentence)
    if match is None:
        return sentence
    caps = match.group("caps")
    if caps is not None and sum(ch.isalpha() for ch in caps) < _MIN_PLACE_LETTERS:
        return sentence
    return sentence[match.end() :]
