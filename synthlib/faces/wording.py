"""How each face names the settings a library message names (see
:class:`synthlib.core.errors.Said`): the command line by its flags, the workbench by its fields
and buttons. Python and papermill use :data:`synthlib.core.errors.PYTHON` (a message's ``str()``).
"""

from __future__ import annotations

from ..core.errors import PYTHON

# Settings without a workbench field: a notebook gives them in its parameters cell, or a button
# does it. Every other setting has a field (made from its declaration), labelled by field_label.
NOT_FIELDS = {
    "checkpoint": "the checkpoint parameter",
    "import_checkpoint": "the import_checkpoint parameter",
    "prices": "the prices parameter (a price file or mapping)",
    "redo": "the redo parameter",
    "fresh": "the Start over button",
    "cancel_on_exit": "the Cancel in-flight batches button",
}
LABELS = {"words_per_request": "Words/request", "max_cost": "Max cost $"}  # short, as ever
START_OVER = "Start over"


def field_label(name: str) -> str:
    """A setting's label in the workbench: its name in words (``poll_interval``: Poll interval)."""
    return LABELS.get(name, name.replace("_", " ").capitalize())


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
    ``fresh`` as the Start over button, a setting without a field as the notebook's parameter."""

    def name(self, setting: str) -> str:
        if setting == "fresh":
            return START_OVER
        return NOT_FIELDS.get(setting) or self._label(setting)

    def given(self, setting: str, value: str) -> str:
        if setting == "fresh":
            return START_OVER
        if setting in NOT_FIELDS:
            # a switch turned on is the parameter itself: "the redo parameter sends them"
            return self.name(setting) if value == "True" else PYTHON.given(setting, value)
        return f"{self._label(setting)} {value}"

    def advice(self, setting: str, value: str) -> str:
        if setting == "fresh":
            return f"click {START_OVER}"
        if setting in NOT_FIELDS:
            return f"set {PYTHON.given(setting, value)} in the notebook's parameters cell"
        return f"set {self._label(setting)} to {value}"

    @staticmethod
    def _label(setting: str) -> str:
        return field_label(setting).removesuffix(" $")  # "Max cost", not "Max cost $"


COMMAND_LINE = CommandLineWording()
WORKBENCH = WorkbenchWording()
