"""Asynchronous bounces and complaints: VERP envelope senders, report parsing, webhooks."""
