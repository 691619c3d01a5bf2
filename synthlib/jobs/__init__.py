"""The jobs a user asks for, and the tables they read back.

Settings declared once (:mod:`.config`: each one becomes a CLI flag, a Python keyword, a notebook
field and a line of docs), a run and its resume (:mod:`.job`), the dry run and estimate
(:mod:`.plan`), pilots, audits and findings, repair, and the DataFrames and exports of the store
(:mod:`.frames`, :mod:`.export`). May import the engine and everything below it; never the faces.
"""
