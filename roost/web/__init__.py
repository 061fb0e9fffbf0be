"""The dashboard: server-rendered pages at ``/`` over the same services and access
checks as the REST routes (``pages.py`` reads, ``forms.py`` acts), its templates and
its static files."""
