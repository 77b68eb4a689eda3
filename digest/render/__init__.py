"""Rendering of the daily email: Jinja2 templates, CSS inlining, per-subscriber links."""

from digest.render.email import EditionRenderer, RenderedEdition
from digest.render.templates import make_environment, templates_dir

__all__ = ["EditionRenderer", "RenderedEdition", "make_environment", "templates_dir"]
