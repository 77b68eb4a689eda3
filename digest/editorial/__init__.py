"""The editorial stages: pure functions from stored items to an edition.

relevance -> cluster -> summarize -> section & rank, put together by :func:`build_edition`.
"""

from digest.editorial.build import build_edition
from digest.editorial.topic import bundled_topics, load_topic

__all__ = ["build_edition", "bundled_topics", "load_topic"]
