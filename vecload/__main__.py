from vecload.cli import run

run()
