"""Rendering: reports through Jinja2 templates (``report``), inline SVG pictures
(``charts``), and mail (``mail``)."""
