"""avlab core library: media, synthetic data, corruptions, representations, models.

Never imports streamlit: usable from a notebook, the CLI or the dashboard.
"""
