"""How each face names the settings a library message names (see
:class:`synthlib.core.errors.Said`): the command line by its flags, the workbench by its fields
and buttons. Python and papermill use :data:`synthlib.core.errors.PYTHON` (a message's ``str()``).
"""

from __future__ import annotations

from ..core.errors import PYTHON

# the workbench's fields, by the setting each sets (the other settings are the notebook's
# parameters); Start over is the button that sets ``fresh``
FIELDS = {
    "provider": "Provider",
    "model": "Model",
    "batch_size": "Batch size",
    "words_per_request": "Words/request",
    "max_cost": "Max cost",
    "store": "Store",
}
START_OVER = "Start over"


class CommandLineWording:
    """``--batch-size``, ``--provider offline``, ``pass --fresh``."""

    def name(self, setting: str) -> str:
        return "--" + setting.replace("_", "-")

    def given(self, setting: str, value: str) -> str:
        return self.name(setting) if value == "True" else f"{self.name(setting)} {value}"

    def advice(self, setting: str, value: str) -> str:
        return f"pass {self.given(setting, value)}"


class WorkbenchWording:
    """A field by its label (``Batch size``, ``Provider offline``, ``set Provider to offline``),
    ``fresh`` as the Start over button, any other setting as the notebook's parameter."""

    def name(self, setting: str) -> str:
        if setting == "fresh":
            return START_OVER
        return FIELDS.get(setting) or f"the {setting} parameter"

    def given(self, setting: str, value: str) -> str:
        if setting == "fresh":
            return START_OVER
        if setting in FIELDS:
            return f"{FIELDS[setting]} {value}"
        return PYTHON.given(setting, value)

    def advice(self, setting: str, value: str) -> str:
        if setting == "fresh":
            return f"click {START_OVER}"
        if setting in FIELDS:
            return f"set {FIELDS[setting]} to {value}"
        return f"set {PYTHON.given(setting, value)} in the notebook's parameters cell"


COMMAND_LINE = CommandLineWording()
WORKBENCH = WorkbenchWording()
