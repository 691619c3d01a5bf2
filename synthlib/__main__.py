from .faces.cli import run

run()
