"""Streamlit glue: cached wrappers over core/, widgets and session keys (the only other place
besides app.py and pages/ that imports streamlit)."""
