"""Passwords in URLs hidden wherever a URL is shown: errors, `config show`, `status`, logs.

A database URL such as ``postgresql://admin:S3cr3t@db/digest`` carries its password, and
library errors quote the URL they were given. Everything the project prints or logs goes
through ``redact``; a regular expression, so that no database library loads to print a line.
"""

from __future__ import annotations

import re

MASK = "***"

# scheme://user:password@host: the user part has no ":", "/" or "@"; the password runs to the
# last "@" of the word (greedy), so an unescaped "@" in it does not leave its tail showing.
# Masking too much (an "@" later in a path) is the safe way to be wrong.
_USERINFO = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@'\"<>]*:)(?P<password>[^\s'\"<>]*)@"
)


def redact(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``."""
    if "://" not in text:
        return text
    return _USERINFO.sub(lambda m: f"{m['head']}{MASK}@" if m["password"] else m[0], text)
