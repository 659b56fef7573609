"""`python -m dlplay_app`: the `dlplay` command."""
from dlplay_app.serve import cli

cli()
