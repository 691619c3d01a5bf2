"""The faces: how people drive the jobs.

The terminal (:mod:`.cli` parses, :mod:`.terminal` shows live progress and asks before spending,
:mod:`.display` prints tables) and the notebook widgets (:mod:`.workbench` for run.ipynb,
:mod:`.pilot_view`, :mod:`.review`); :mod:`.wording` names a setting a library message names the
way each face does (a flag, a field). Faces only call the jobs layer and show what it returns; no
money rule lives here. Nothing below imports a face.
"""
