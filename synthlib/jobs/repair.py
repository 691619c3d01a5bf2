"""Repair: the words whose entries have audit findings, sent again with the findings and the local
facts in the prompt, as an ordinary run.

    plan = plan_repair("synthlib.db", severity="error")   # reads only
    result = repair("synthlib.db", severity="error", model="gpt-4o-mini", max_cost=2)

What a caller may rely on:

* Only the words whose current entry has a finding of the severity asked (``error``; ``warning``
  takes errors and warnings) are sent, each once, whatever the rest of the store holds.
* The run is an ordinary :class:`synthlib.jobs.job.Job` (dry-run estimate, ``max_cost``, checkpoint
  and resume, the store as ledger; ``redo`` so that the words are sent although the store has
  them). Each word's request carries, as its reference, every finding in plain words ("your entry
  gave word_forms.plural = 'childs': ..., the local sources say: children") beside the local
  dictionary's senses.
* The repaired entry replaces the entry and is audited again; the audit of the version before it
  stays in the store with that version's entry (``load_findings(current=False)``).
* A finding the model disputes twice (the same value in the same place after two repairs: three
  versions of the entry carry it) is a disagreement: it is no longer sent, and a word left with
  nothing else to repair is not sent at all.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.errors import UsageError
from ..store import Store, using_store
from .findings import AuditSummary, audit, iter_findings

if TYPE_CHECKING:
    from ..lexicon import Lexicon
    from .job import Job, RunResult

__all__ = ["DISPUTES", "RepairPlan", "RepairResult", "plan_repair", "repair"]

DISPUTES = 2
"""Repairs after which a finding the model keeps giving is a disagreement, not repaired again."""
SEVERITIES = {"error": ("error",), "warning": ("error", "warning")}


@dataclass
class RepairPlan:
    """What a repair would send: the words, each word's reference for the prompt, and the
    findings kept as disagreements."""

    severity: str
    words: list[str] = field(default_factory=list)
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    findings: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    disagreements: dict[str, list[dict[str, str]]] = field(default_factory=dict)


@dataclass
class RepairResult:
    plan: RepairPlan
    run: RunResult | None = None  # None: nothing to send
    audit: AuditSummary | None = None  # the repaired entries audited again


def _signature(finding: Mapping[str, Any]) -> tuple[str, str, str]:
    return str(finding.get("check")), str(finding.get("path")), str(finding.get("value"))


def plan_repair(
    store: Store | str | os.PathLike[str] | None = None,
    *,
    severity: str = "error",
    run: str | None = None,
    lexicon: Lexicon | None = None,
) -> RepairPlan:
    """The words a repair would send (see the module docstring); reads only. ``lexicon`` gives
    the local senses put beside the findings (loaded here when None and needed)."""
    from ..core.errors import UsageError

    if severity not in SEVERITIES:
        raise UsageError(f"unknown severity {severity!r}: use error or warning")
    wanted = SEVERITIES[severity]
    plan = RepairPlan(severity)
    with using_store(store) as opened:
        current: dict[str, list[dict[str, str]]] = {}
        for kept, finding in iter_findings(opened, run=run):
            if finding.get("severity") in wanted:
                current.setdefault(kept.word, []).append(finding)
        seen: dict[str, dict[tuple[str, str, str], set[str]]] = {}
        for kept in opened.iter_audits(words=list(current), entries=False):
            versions = seen.setdefault(kept.word, {})
            for finding in kept.findings:
                versions.setdefault(_signature(finding), set()).add(kept.entry_key)
    for word, findings in current.items():
        open_ones = []
        for finding in findings:
            if len(seen.get(word, {}).get(_signature(finding), ())) > DISPUTES:
                plan.disagreements.setdefault(word, []).append(finding)
            else:
                open_ones.append(finding)
        if open_ones:
            plan.words.append(word)
            plan.findings[word] = open_ones
    if plan.words:
        if lexicon is None:
            from ..lexicon import Lexicon

            lexicon = Lexicon.load()
        for word in plan.words:
            note: dict[str, Any] = {"audit": [_sentence(f) for f in plan.findings[word]]}
            known = lexicon.reference(word)
            if known:
                note.update(known)
            plan.notes[word] = note
    return plan


def _sentence(finding: Mapping[str, Any]) -> str:
    """One finding as the prompt says it."""
    path, value = finding.get("path"), finding.get("value")
    gave = f"your entry gave {path} = {value!r}" if value else f"your entry gave no {path}"
    said = f"; the local sources say: {finding['expected']}" if finding.get("expected") else ""
    return f"{gave}: {finding.get('reason')}{said}. Correct it, or keep it only if you are sure."


def repair(
    store: Store | str | os.PathLike[str] | None = None,
    *,
    severity: str = "error",
    run: str | None = None,
    lexicon: Lexicon | None = None,
    workers: int | None = 1,
    **settings: Any,
) -> RepairResult:
    """Plan the repair, run it as an ordinary job (``settings`` as for :func:`synthlib.run`:
    model, provider, max_cost, checkpoint, ...), then audit the repaired words again.

    Raises :class:`~synthlib.core.errors.UsageError` (nothing written) when no API key is set and
    provider ``auto`` would fall back to offline over paid entries; pass ``provider="offline"``
    to make offline entries anyway."""
    plan = plan_repair(store, severity=severity, run=run, lexicon=lexicon)
    if not plan.words:
        return RepairResult(plan)
    job = repair_job(plan, store, settings)
    if job.fallback:  # no key: offline entries would not repair the paid ones; nothing is written
        raise UsageError(job.fallback)
    result = job.run()
    # the repaired entries (this run's), not the versions before them kept beside them
    mine = result.run_id or None
    after = audit(store, run=mine, words=plan.words, lexicon=lexicon, workers=workers)
    return RepairResult(plan, result, after)


def repair_job(
    plan: RepairPlan,
    store: Store | str | os.PathLike[str] | None,
    settings: Mapping[str, Any],
    **job_options: Any,
) -> Job:
    """The job that sends ``plan``'s words (built, not opened: nothing is written yet)."""
    from .config import RunConfig
    from .job import Job

    given = {k: v for k, v in settings.items() if v is not None}
    given.update(redo=True, grounding=True)  # sent although stored; the findings as reference
    opened: Store | None = None
    if isinstance(store, str | os.PathLike):
        given["store"] = os.fspath(store)
    elif store is not None:
        opened = store
    config = RunConfig.build(plan.words, words_name="repair.txt", **given)
    return Job(config, store=opened, reference=plan.notes, **job_options)
