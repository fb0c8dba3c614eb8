"""Rendering: reports through Jinja2 templates (``report``), inline SVG pictures
(``charts``), and mail (``mail``)."""

#: The report formats (``--format``), here so the command line need not import the renderer.
FORMATS = ("text", "markdown", "html", "json")
