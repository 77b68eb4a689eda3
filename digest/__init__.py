"""digest: a daily email digest of the news on a topic."""

__version__ = "0.1.0"
