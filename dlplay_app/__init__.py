"""The dlplay web app: its Streamlit entry point (`app.py`), the lesson pages (`pages/`), the widgets
and session helpers the pages share (`ui/`) and the server launcher behind the `dlplay` command
(`serve.py`). Everything a page computes lives in the `dlplay` package."""
