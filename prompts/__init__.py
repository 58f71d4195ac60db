"""Prompt templates (``*.txt``), shipped as package data; read by ``agent.prompting``."""
