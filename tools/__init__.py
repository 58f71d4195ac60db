"""The agent's tools and the deterministic steps around them: parse, intake, tariff
lookup, validation, write-back."""
