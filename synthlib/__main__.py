from synthlib.cli import run

run()
