"""dlplay: the backend of an interactive deep-learning playground.

Everything here is importable and testable without Streamlit; the app (`dlplay_app`: pages/, ui/)
only draw widgets and render what these modules compute.
"""
__version__ = "0.1.0"
