"""Rendering generated documents: labels, number formats, HTML layouts, PDF and scans."""
