"""`python -m perceptron_lab ...`: the `lab` command."""

from .cli import app

app(prog_name="lab")
