"""Subscriber lists: types, store, validation and signed link tokens."""
