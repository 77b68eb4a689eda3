"""Where the templates live and the Jinja2 environment that renders them.

The ``templates/`` folder sits at the top of the repository so editors can restyle the emails
without touching code. A wheel ships it inside the package (``digest/templates``); a source
checkout or an editable install uses ``<repo>/templates``.
"""

from __future__ import annotations

import importlib.resources
import re
import shutil
import textwrap
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup

from digest.errors import RenderError, UsageError
from digest.i18n import SOURCE_LANGUAGE, Dates, translations

__all__ = [
    "copy_templates",
    "make_environment",
    "template_loader",
    "web_loader",
    "templates_dir",
    "long_date",
    "short_date",
    "utc_time",
    "wrap_text",
    "safe_url",
]

_URL_START = re.compile(r"[a-z][a-z0-9+.-]*://|mailto:|www\.", re.IGNORECASE)

#: File name endings rendered without HTML autoescaping (plain-text templates).
_TEXT_SUFFIXES = (".txt.j2", ".txt", ".text.j2", ".text")


def _package_root() -> Path | None:
    """The directory of the installed ``digest`` package, found without importing side effects."""
    try:
        root = importlib.resources.files("digest")
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - digest is always importable
        root = None
    if isinstance(root, Path):
        return root
    # A namespace package (no __init__.py) or an unusual loader: fall back to this file.
    return Path(__file__).resolve().parent.parent


def templates_dir() -> Path:
    """The top-level templates folder: packaged copy first, then the source checkout's."""
    root = _package_root()
    candidates = []
    if root is not None:
        candidates.append(root / "templates")  # installed from a wheel
        candidates.append(root.parent / "templates")  # source checkout / editable install
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    looked = ", ".join(str(candidate) for candidate in candidates) or "nowhere"
    raise RenderError(f"templates folder not found (looked in {looked})")


def _autoescape(name: str | None) -> bool:
    """Escape everything except templates whose name says they are plain text."""
    if name is None:  # templates built from strings
        return True
    return not name.lower().endswith(_TEXT_SUFFIXES)


# --- filters ----------------------------------------------------------------------------------


def long_date(value: date | datetime) -> str:
    """``Tuesday 10 March 2026`` (English; see digest/i18n.py for other languages)."""
    return Dates("en").long_date(value)


def short_date(value: date | datetime) -> str:
    """``10 Mar``."""
    return Dates("en").short_date(value)


def utc_time(value: datetime) -> str:
    """``07:05 UTC`` (aware datetimes are converted; naive ones are taken as UTC)."""
    return Dates("en").time(value)


def wrap_text(
    value: str, width: int = 72, indent: str = "", first_indent: str | None = None
) -> str:
    """Wrap plain text at ``width`` columns, keeping paragraphs; links are never split."""
    first = indent if first_indent is None else first_indent
    room = max(width - max(len(indent), len(first)), 1)
    out = []
    for part in str(value).replace("\r", "").split("\n\n"):
        words: list[str] = []
        for word in part.split():
            if len(word) > room and not _URL_START.match(word):
                # an overlong non-link word is cut; a link stays whole so it still works
                words.extend(word[i : i + room] for i in range(0, len(word), room))
            else:
                words.append(word)
        paragraph = " ".join(words)
        if not paragraph:
            continue
        out.append(
            textwrap.fill(
                paragraph,
                width=width,
                initial_indent=first,
                subsequent_indent=indent,
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n\n".join(out)


def safe_url(value: str, fallback: str = "#") -> str:
    """The URL if it is an absolute http(s) link, else ``fallback`` (no ``javascript:`` links)."""
    url = str(value).strip()
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return fallback
    if scheme in ("http", "https") and not any(ch in url for ch in "\r\n\t "):
        return url
    return fallback


def template_loader(directory: Path, overrides: Path | None = None) -> jinja2.BaseLoader:
    """The bundled templates in ``directory``, behind an editor's ``overrides`` folder if any.

    A file in ``overrides`` replaces the bundled file of the same name; every other file is
    the bundled one. The bundled files are also reachable as ``bundled/NAME``, so an override
    can extend the bundled template and change only one of its blocks.
    """
    bundled = jinja2.FileSystemLoader(str(directory))
    loaders: list[jinja2.BaseLoader] = [bundled, jinja2.PrefixLoader({"bundled": bundled})]
    if overrides is not None:
        if not overrides.is_dir():
            raise RenderError(f"[digest] templates: {overrides} is not a folder")
        loaders.insert(0, jinja2.FileSystemLoader(str(overrides)))
    return jinja2.ChoiceLoader(loaders)


def web_loader(overrides: Path | None) -> jinja2.BaseLoader:
    """The loader of the web pages (templates/web), behind ``overrides``/web when it exists."""
    mine = overrides / "web" if overrides is not None else None
    if overrides is not None and not overrides.is_dir():
        raise RenderError(f"[digest] templates: {overrides} is not a folder")
    return template_loader(templates_dir() / "web", mine if mine and mine.is_dir() else None)


def copy_templates(target: Path) -> list[Path]:
    """Copy the bundled templates into ``target`` (a starting point for [digest] templates);
    refuses to overwrite a file already there. Returns the files written."""
    source = templates_dir()
    files = sorted(path for path in source.rglob("*") if path.is_file())
    existing = [target / path.relative_to(source) for path in files]
    clash = next((path for path in existing if path.exists()), None)
    if clash is not None:
        raise UsageError(f"{clash} already exists; copy into an empty folder")
    written = []
    try:
        for path, destination in zip(files, existing, strict=True):
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
            written.append(destination)
    except OSError as exc:
        raise UsageError(f"cannot copy the templates to {target}: {exc}") from exc
    return written


def make_environment(
    directory: Path | None = None,
    overrides: Path | None = None,
    *,
    language: str = SOURCE_LANGUAGE,
    timezone: str = "UTC",
) -> jinja2.Environment:
    """A Jinja2 environment over ``directory`` (default: :func:`templates_dir`), with an
    editor's ``overrides`` folder in front of it (see :func:`template_loader`), writing in
    ``language`` (``_()``/``ngettext()`` and the date filters) with times in ``timezone``.

    HTML templates are autoescaped (everything not named ``*.txt.j2`` is), undefined variables
    raise, and block tags do not leave blank lines behind.
    """
    folder = templates_dir() if directory is None else Path(directory)
    if not folder.is_dir():
        raise RenderError(f"templates folder not found: {folder}")
    env = jinja2.Environment(
        loader=template_loader(folder, overrides),
        autoescape=_autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    dates = Dates(language, timezone)
    env.globals["language"] = language
    env.filters["long_date"] = dates.long_date
    env.filters["short_date"] = dates.short_date
    env.filters["local_time"] = dates.time
    env.filters["utc_time"] = utc_time
    env.filters["wrap"] = wrap_text
    env.filters["safe_url"] = safe_url
    env.filters["compact_css"] = compact_css
    return env


_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_SPACE = re.compile(r"\s+")


def compact_css(css: str) -> str:
    """``css`` without comments or runs of white space. The @media rules stay in a <style>
    block of every email: their comments are for the stylesheet's editors, not its readers, and
    each byte is sent to every subscriber. (Our own stylesheets: no strings holding "/*".)"""
    compact = _SPACE.sub(" ", _CSS_COMMENT.sub("", css)).strip()
    # the included stylesheet is markup already: escaping it would break child selectors
    return Markup(compact) if isinstance(css, Markup) else compact
