"""What changed since a period was last calculated, and so whom `spm calc run --changed` recomputes.

A recorded run of a period for everyone is the anchor (or a `--changed` run after it, which left the
period as up to date). Every run notes the newest audit event it had seen as it started; after it, the
store records:

- each import's changes in `change_log`: one row per changed field of an updated row (key, before,
  after) and one per inserted row (field `*`), unless the import inserted more than
  `imports.LOGGED_INSERTS` rows of an entity;
- every mutation in the audit log: imports, plan versions published, plans assigned, company settings,
  period statuses (which earlier periods a run rechecks), runs of other periods (whose lines a run
  reads as earlier periods' and deltas).

`changes_since` turns those into a `calc_impact.Change`: a changed or new transaction, deal, split,
account or activity by its key; a person by their assignments, quotas or person row; and, for updated
rows, the people, deals and accounts the row pointed at *before* (a deal moved from A to B affects A,
whom the store no longer names). `affected_payees` then finds everyone those can credit. Changes whose
reach is not tracked row by row — products, exchange rates, territories, a territory moved under an
account, a changed transaction or deal date, a quota of an org unit, company settings, a period status,
an import too large to log its inserted rows — cannot be narrowed, and the answer is everyone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, select

from openspm.services import company
from openspm.services.calc import CLOSED, changes_seen, parse_period
from openspm.services.calc_impact import Change, affected_payees
from openspm.services.imports import INSERTS_LOGGED
from openspm.store.models import Activity, AuditEvent, CalcRun, ChangeRecord, ImportBatch

_T = TypeVar("_T")

#: Entities an import may change that no calculation reads (changing them moves no pay).
NOT_READ = frozenset({"org_units", "opportunity_history"})

#: Entities whose changes cannot be narrowed to the rows they credit: everyone is recomputed.
EVERYONE = frozenset({"products", "fx_rates", "territories"})

#: The Change field each entity's changed rows go to, by the first part of their key.
_BY_KEY = {
    "transactions": "transactions",
    "opportunities": "opportunities",
    "opportunity_splits": "opportunities",
    "accounts": "accounts",
    "account_assignments": "accounts",
    "people": "people",
    "assignments": "people",
    "activities": "activities",
}

#: Dates that pick a transaction's or a deal's territory owner and managers: a change of one moves
#: credits between people found only as of the old date.
_DATES = frozenset({"date", "created_date", "close_date"})

#: Fields of an updated row whose value before the change names a person who was credited through it.
_PEOPLE_FIELDS = frozenset({"owner_id", "person_id", "manager_id"})


@dataclass
class Changed:
    """Whom a `--changed` run recomputes: `people` (None: everyone), and why."""

    people: list[str] | None
    seen: dict[str, int]  # the changes covered (`run_calculation(changes_through=seen)`)
    anchor_run: int | None  # the run the changes came after (None: no run to start from)
    reason: str


def changed_payees(conn: Connection, period: str) -> Changed:
    """Everyone whose pay in `period` may have moved since the period was last brought up to date.

    The anchor is the latest recorded run of the period for everyone, or for the people
    `changed_payees` named; changes are read after the oldest audit event any run recorded since
    then had seen (a run recorded later may still hold lines computed from older inputs). `people` is
    empty when nothing changed, and None (everyone) when the changes cannot be narrowed or no such run
    exists.
    """
    seen = changes_seen(conn)
    period = parse_period(company.get_settings(conn).calendar, period).label
    runs = conn.execute(
        select(CalcRun.id, CalcRun.period, CalcRun.options).where(CalcRun.status == "completed")
    ).all()
    mine = [r for r in runs if r.period == period]
    eligible = [(r.id, up["audit"]) for r in mine if (up := _up_to_date(r.options)) is not None]
    if not eligible:
        return Changed(None, seen, None, f"{period} has no recorded run for everyone to start from")
    anchor, through = max(eligible)
    later = [int(((r.options or {}).get("seen") or {}).get("audit", 0)) for r in mine if r.id > anchor]
    horizon = min([through, *later])
    keys = _Keys()
    for r in runs:  # other periods' runs since: their lines are this period's earlier lines and deltas
        if r.id > anchor and r.period != period:
            payees = (r.options or {}).get("payees")
            if payees is None:
                return Changed(None, seen, anchor, f"{r.period} was recalculated for everyone (run #{r.id})")
            keys.people.update(payees)
    change, why = changes_since(conn, horizon, keys)
    if change is None:
        return Changed(None, seen, anchor, why)
    people = sorted(affected_payees(conn, change))
    return Changed(people, seen, anchor, f"{len(people)} people affected by changes since run #{anchor}")


def _up_to_date(options: dict[str, Any] | None) -> dict[str, int] | None:
    """The changes a run left its whole period up to date with: a run for everyone those it had seen
    as it started, a `--changed` run those it covered; a run for some people (or one recorded before
    runs noted what they had seen), none."""
    options = options or {}
    if options.get("payees") is None:
        return options.get("seen")
    return options.get("changes_through")


def changes_since(conn: Connection, audit_after: int, keys: _Keys | None = None) -> tuple[Change | None, str]:
    """The changes recorded after audit event `audit_after` as a `Change` (None: they cannot be
    narrowed), and why. Imports are found by their audit events: audit ids follow commit order (they
    are taken under the audit log's lock), import ids need not."""
    keys = keys or _Keys()
    events = conn.execute(
        select(AuditEvent.action, AuditEvent.entity_key, AuditEvent.before, AuditEvent.after)
        .where(AuditEvent.id > audit_after)
        .order_by(AuditEvent.id)
    ).all()
    imports: list[int] = []
    for e in events:
        if e.action == "company.configure":
            return None, "the company settings changed"
        if e.action == "period.status" and _closes_or_reopens(e.before, e.after):
            return None, f"period {e.entity_key} was closed or reopened (which periods a run rechecks)"
        if e.action == "import" and e.entity_key:
            imports.append(int(e.entity_key))
        if e.action == "plan.publish" and e.entity_key:
            keys.plans.add(e.entity_key.rsplit(" v", 1)[0])
        if e.action == "plan.assign" and e.after:
            keys.people.add(str(e.after["person_id"]))
    for chunk in _chunks(imports, 500):
        for batch in conn.execute(
            select(ImportBatch.id, ImportBatch.summary).where(ImportBatch.id.in_(chunk))
        ):
            problem = _unnarrowed(batch.id, dict(batch.summary or {}))
            if problem is not None:
                return None, problem
        records = conn.execute(
            select(ChangeRecord.entity, ChangeRecord.row_key, ChangeRecord.field, ChangeRecord.before).where(
                ChangeRecord.import_id.in_(chunk)
            )
        ).all()
        for r in records:
            problem = keys.add(r.entity, r.row_key, r.field, r.before)
            if problem is not None:
                return None, problem
    keys.resolve_activities(conn)
    return keys.change(), "tracked changes"


def _closes_or_reopens(before: dict[str, Any] | None, after: dict[str, Any] | None) -> bool:
    """Whether a status change moves a period into or out of the closed ones a run rechecks (a run
    itself marks its period calculated, which changes nothing here)."""
    closed = {s.value for s in CLOSED}
    return ((before or {}).get("status") in closed) != ((after or {}).get("status") in closed)


def _unnarrowed(batch: int, summary: dict[str, Any]) -> str | None:
    """Why an import's changes cannot be narrowed row by row, if they cannot."""
    logged = int(summary.pop(INSERTS_LOGGED, -1))  # -1: an import from before inserts were logged
    for entity, counts in summary.items():
        inserted, updated = int(counts.get("inserted") or 0), int(counts.get("updated") or 0)
        if entity in NOT_READ or not (inserted or updated):
            continue
        if entity in EVERYONE:
            return f"import #{batch} changed {entity}"
        if inserted > logged:
            return f"import #{batch} inserted more {entity} rows than it logged one by one"
    return None


class _Keys:
    def __init__(self) -> None:
        self.transactions: set[str] = set()
        self.opportunities: set[str] = set()
        self.accounts: set[str] = set()
        self.people: set[str] = set()
        self.plans: set[str] = set()
        self.activities: set[str] = set()

    def add(self, entity: str, row_key: str, field_name: str, before: str | None) -> str | None:
        """Record one change_log row; a reason when it cannot be narrowed."""
        if entity in NOT_READ:
            return None
        problem = self._row(entity, row_key, field_name)
        if problem is None and before:  # what the row pointed at before the change
            if field_name in _PEOPLE_FIELDS:
                self.people.add(before)
            elif field_name == "opportunity_id":
                self.opportunities.add(before)
            elif field_name == "account_id":
                self.accounts.add(before)
        return problem

    def _row(self, entity: str, row_key: str, field_name: str) -> str | None:
        first = row_key.split("|", 1)[0]
        if entity in ("transactions", "opportunities") and field_name in _DATES:
            return f"a date of {entity} {first} changed (territories and managers are taken as of it)"
        if entity == "quotas":
            kind, subject = row_key.split("|", 2)[:2]
            if kind != "person":
                return f"a quota of an {kind} changed"
            self.people.add(subject)
        elif entity == "account_assignments" and field_name == "territory_id":
            return "an account's territory was changed in place"
        elif entity in _BY_KEY:
            getattr(self, _BY_KEY[entity]).add(first)
        else:
            return f"{entity} changed"
        return None

    def resolve_activities(self, conn: Connection) -> None:
        """An activity credits its person (and, by rollups, their managers)."""
        for chunk in _chunks(sorted(self.activities), 500):
            people = conn.execute(select(Activity.person_id).where(Activity.activity_id.in_(chunk))).scalars()
            self.people.update(p for p in people if p)

    def change(self) -> Change:
        return Change(
            transactions=sorted(self.transactions),
            opportunities=sorted(self.opportunities),
            accounts=sorted(self.accounts),
            people=sorted(self.people),
            plans=sorted(self.plans),
        )


def _chunks(values: Sequence[_T], size: int) -> Iterable[Sequence[_T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
