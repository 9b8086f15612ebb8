"""Fakes for end-to-end tests: a Telegram Bot API server on 127.0.0.1."""
