from creditlines.cli import app

app()
