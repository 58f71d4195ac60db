"""Entry points: the CLI, the HTTP API and web pages."""
