"""Webhooks per the Standard Webhooks specification: signing, the SSRF guard on targets,
endpoint administration, and delivery with retries (see docs/webhooks.md)."""
