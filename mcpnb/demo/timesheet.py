"""The timesheet demo: a time tracker for a consultancy.

What it stands in for: the tool a team logs its hours in. The data: customers,
projects (with budgets), activities, people and timesheet entries (tens of
thousands over 2026), seeded deterministically (see store.py).

Protocol features shown: tools with structured output and honest annotations
(logging time is not idempotent, locking a period cannot be undone); resources
and templates (a person's week); prompts with completions; log messages on
writes; progress and cancellation in reports; elicitation before entries are
deleted or a period is locked; sampling for a week's summary; resource updates
and list changes in both eras.
"""


import json
import random
import sqlite3
from datetime import date, timedelta
from typing import Annotated, Literal

import anyio
import mcp_types as types
from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Resolve
from mcp_types import Completion, PromptReference, ResourceTemplateReference
from pydantic import BaseModel, Field

from .kit import (CREATES, DELAY, DESTROYS, READ_ONLY, UPDATES, complete_ids, confirm, Missing, next_offset, Notices,
                  paged_resources, reply_text, require_confirmed, rows_of, summary_request, where_equal)

NAME = "timesheet"
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, country TEXT NOT NULL, hourly_rate REAL NOT NULL
);
CREATE TABLE projects (
    id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), name TEXT NOT NULL,
    budget_hours REAL NOT NULL, status TEXT NOT NULL, billable INTEGER NOT NULL
);
CREATE TABLE activities (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, billable INTEGER NOT NULL
);
CREATE TABLE people (
    login TEXT PRIMARY KEY, name TEXT NOT NULL, team TEXT NOT NULL, weekly_hours REAL NOT NULL
);
CREATE TABLE entries (
    id INTEGER PRIMARY KEY, login TEXT NOT NULL REFERENCES people(login),
    project_id INTEGER NOT NULL REFERENCES projects(id), activity_id INTEGER NOT NULL REFERENCES activities(id),
    day TEXT NOT NULL, hours REAL NOT NULL, description TEXT NOT NULL, billable INTEGER NOT NULL
);
CREATE TABLE locks (
    id INTEGER PRIMARY KEY CHECK (id = 1), locked_until TEXT NOT NULL
);
CREATE INDEX entries_day ON entries(day);
CREATE INDEX entries_project ON entries(project_id, day);
CREATE INDEX entries_login ON entries(login, day)
"""

YEAR_START = date(2026, 1, 5)  # a Monday
TODAY = date(2026, 10, 30)  # the seed's last working day
INITIAL_LOCK = date(2026, 6, 30)

_COUNTRIES = ["Portugal", "Germany", "Ireland", "Netherlands", "Norway", "Spain", "France", "Estonia", "Italy",
              "United Kingdom"]
_COMPANY_A = ["Blue", "North", "Bright", "Iron", "Silver", "Green", "Open", "Swift", "Atlas", "Harbour",
              "Summit", "Delta", "Nova", "Cedar", "Lumen", "Pioneer"]
_COMPANY_B = ["Logistics", "Bank", "Foods", "Energy", "Health", "Media", "Retail", "Labs", "Travel", "Insurance",
              "Telecom", "Studios"]
_PROJECT_KINDS = ["Website relaunch", "Data platform", "Mobile app", "CRM migration", "Security review",
                  "Support retainer", "Analytics dashboards", "API integration", "Cloud migration", "Design system"]
ACTIVITIES = [("Development", 1), ("Design", 1), ("Project management", 1), ("Meetings", 1), ("Testing", 1),
              ("Support", 1), ("Travel", 0), ("Internal", 0), ("Training", 0), ("Sales", 0)]
_PEOPLE = [("amira", "Amira Haddad", "engineering", 40), ("bogdan", "Bogdan Ilie", "engineering", 40),
           ("chloe", "Chloé Martin", "design", 32), ("dev", "Dev Patel", "engineering", 40),
           ("elena", "Elena Rossi", "delivery", 40), ("farah", "Farah Khan", "engineering", 24),
           ("gus", "Gus Olsen", "design", 40), ("hana", "Hana Sato", "engineering", 40),
           ("ivo", "Ivo Novak", "delivery", 40), ("jo", "Jo Byrne", "engineering", 32),
           ("kai", "Kai Berg", "engineering", 40), ("lena", "Lena Vogel", "sales", 40),
           ("mo", "Mo Farouk", "engineering", 40), ("nina", "Nina Costa", "design", 40),
           ("omar", "Omar Said", "engineering", 40)]

# What a parameter means, said once for every tool that takes it: a model reads descriptions, not code.
LOGIN = "a person's login, e.g. amira"
HOURS = "hours worked, e.g. 1.5"
NOTE = "what was done, 3 characters or more"

_NOTES = ["standup and planning", "fixed review comments", "worked on the ticket backlog", "customer call",
          "wrote tests", "deployment", "workshop preparation", "investigated a bug", "documentation",
          "sprint review", "pairing session", "performance tuning"]


class Customer(BaseModel):
    id: int
    name: str
    country: str
    hourly_rate: float


class Project(BaseModel):
    id: int
    customer_id: int
    customer: str
    name: str
    budget_hours: float
    hours_logged: float
    status: str
    billable: bool


class ProjectList(BaseModel):
    projects: list[Project]


class Entry(BaseModel):
    id: int
    login: str
    project_id: int
    project: str
    customer: str
    activity: str
    day: str = Field(description="ISO date")
    hours: float
    description: str
    billable: bool
    locked: bool = Field(description="in a locked period: it can no longer change")


class EntryList(BaseModel):
    entries: list[Entry]
    total: int = Field(description="matches in all, beyond this page")
    hours: float = Field(description="hours of all matches")
    next_offset: int | None = Field(description="offset of the next page, or null on the last")


class ReportRow(BaseModel):
    group: str
    hours: float
    billable_hours: float
    revenue: float = Field(description="billable hours at the customer's rate")
    entries: int


class Report(BaseModel):
    group_by: str
    date_from: str
    date_to: str
    rows: list[ReportRow]


class DeleteConfirmation(BaseModel):
    confirm: bool = Field(True, description="Delete these entries (this cannot be undone)")


class LockConfirmation(BaseModel):
    confirm: bool = Field(True, description="Lock every entry up to this date (it cannot be unlocked)")


class Deleted(BaseModel):
    deleted: int
    hours: float


class Lock(BaseModel):
    locked_until: str
    entries_locked: int


class WeekSummary(BaseModel):
    login: str
    week: str
    hours: float
    summary: str
    by: str = Field(description="the model that wrote it, or 'totals' when the client cannot sample")


# -- seed -------------------------------------------------------------------------------


def seed(db: sqlite3.Connection) -> None:
    """Fill an empty database with the same rows every time."""
    rng = random.Random(20260105)
    customers = []
    names = rng.sample([f"{a} {b}" for a in _COMPANY_A for b in _COMPANY_B], 40)
    for customer_id, name in enumerate(names, start=1):
        customers.append((customer_id, name, rng.choice(_COUNTRIES), rng.choice([85.0, 95.0, 110.0, 120.0, 140.0])))
    db.executemany("INSERT INTO customers VALUES (?, ?, ?, ?)", customers)
    projects = []
    for project_id in range(1, 121):
        customer = rng.choice(customers)
        kind = rng.choice(_PROJECT_KINDS)
        status = rng.choices(["active", "finished", "on hold"], weights=[65, 25, 10])[0]
        projects.append((project_id, customer[0], kind, float(rng.choice([80, 160, 240, 400, 800, 1200])), status,
                         0 if kind == "Support retainer" and rng.random() < 0.3 else 1))
    projects.append((121, 1, "Internal", 0.0, "active", 0))  # holidays aside, time not spent on customers
    db.executemany("INSERT INTO projects VALUES (?, ?, ?, ?, ?, ?)", projects)
    db.executemany("INSERT INTO activities VALUES (?, ?, ?)",
                   [(i, name, billable) for i, (name, billable) in enumerate(ACTIVITIES, start=1)])
    db.executemany("INSERT INTO people VALUES (?, ?, ?, ?)", _PEOPLE)

    entries = []
    active = [p for p in projects if p[4] != "finished" and p[0] != 121]
    for login, _, team, weekly in _PEOPLE:
        mine = rng.sample(active, 4)
        day = YEAR_START
        while day <= TODAY:
            if day.weekday() < 5 and rng.random() > 0.06:  # weekends and days off
                left = weekly / 5
                while left > 0.2:
                    hours = min(left, rng.choice([0.5, 1.0, 1.5, 2.0, 3.0, 4.0]))
                    project = rng.choice(mine) if rng.random() > 0.12 else projects[120]
                    if project[0] == 121:
                        activity = rng.choice([8, 9])
                    elif team == "design":
                        activity = rng.choice([2, 2, 2, 4, 3])
                    elif team == "delivery":
                        activity = rng.choice([3, 3, 4, 6, 7])
                    elif team == "sales":
                        activity = rng.choice([10, 10, 4, 7])
                    else:
                        activity = rng.choice([1, 1, 1, 5, 4, 6])
                    billable = int(bool(project[5]) and bool(ACTIVITIES[activity - 1][1]))
                    entries.append((len(entries) + 1, login, project[0], activity, day.isoformat(), hours,
                                    rng.choice(_NOTES), billable))
                    left -= hours
            day += timedelta(days=1)
    db.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)", entries)
    db.execute("INSERT INTO locks VALUES (1, ?)", (INITIAL_LOCK.isoformat(),))


# -- the server -------------------------------------------------------------------------

_ENTRY_SQL = """SELECT e.id, e.login, e.project_id, p.name AS project, c.name AS customer, a.name AS activity,
                       e.day, e.hours, e.description, e.billable
                FROM entries e JOIN projects p ON p.id = e.project_id JOIN customers c ON c.id = p.customer_id
                JOIN activities a ON a.id = e.activity_id"""
_GROUPS = {"project": "c.name || ' / ' || p.name", "customer": "c.name", "person": "e.login",
           "activity": "a.name", "week": "strftime('%Y-W%W', e.day)", "month": "substr(e.day, 1, 7)"}


def _iso_week(week: str) -> tuple[date, date]:
    """Monday and Sunday of an ISO week written 2026-W14."""
    try:
        year, number = week.upper().split("-W")
        monday = date.fromisocalendar(int(year), int(number), 1)
    except ValueError:
        raise ToolError(f"{week!r} is not an ISO week such as 2026-W14.") from None
    return monday, monday + timedelta(days=6)


def build(db: sqlite3.Connection) -> MCPServer:
    """The timesheet MCP server over ``db``."""
    mcp = MCPServer(
        "timesheet",
        title="Timesheet (demo)",
        version="1.0",
        instructions=(
            "A consultancy's time tracker: customers, projects with budgets, activities, people and their "
            "timesheet entries. Log time, correct it, report hours and revenue. Entries up to the locked "
            "date can no longer change. All data is made up."
        ),
    )
    notices = Notices(mcp)

    def rows(sql: str, *params: object) -> list[dict]:
        return rows_of(db, sql, *params)

    def locked_until() -> str:
        return db.execute("SELECT locked_until FROM locks").fetchone()[0]

    def entry_of(row: dict) -> Entry:
        return Entry(**row, locked=row["day"] <= locked_until())

    def entry(entry_id: int) -> Entry:
        found = rows(_ENTRY_SQL + " WHERE e.id = ?", entry_id)
        if not found:
            raise Missing(f"There is no timesheet entry {entry_id}.")
        return entry_of(found[0])

    def project(project_id: int) -> Project:
        found = rows("""SELECT p.id, p.customer_id, c.name AS customer, p.name, p.budget_hours, p.status, p.billable,
                               COALESCE((SELECT SUM(hours) FROM entries WHERE project_id = p.id), 0) AS hours_logged
                        FROM projects p JOIN customers c ON c.id = p.customer_id WHERE p.id = ?""", project_id)
        if not found:
            raise Missing(f"There is no project {project_id}.")
        return Project(**found[0])

    def person(login: str) -> dict:
        found = rows("SELECT * FROM people WHERE login = ?", login)
        if not found:
            known = ", ".join(r[0] for r in db.execute("SELECT login FROM people ORDER BY login"))
            raise Missing(f"There is no person {login!r}; the people are: {known}.")
        return found[0]

    def writable(day: str) -> None:
        if day <= locked_until():
            raise ToolError(f"{day} is in a locked period (locked until {locked_until()}); it cannot change.")

    @mcp.tool(title="List customers", annotations=READ_ONLY)
    def list_customers(
        country: str | None = Field(None, description="the country's English name, e.g. Germany"),
    ) -> list[Customer]:
        """Every customer with its country and hourly rate."""
        condition, params = where_equal(("country", country))
        return [Customer(**r) for r in rows(f"SELECT * FROM customers WHERE {condition} ORDER BY name", *params)]

    @mcp.tool(title="List projects", annotations=READ_ONLY)
    def list_projects(
        customer_id: int | None = Field(None, description="ids from list_customers"),
        status: Literal["active", "finished", "on hold"] | None = Field(
            None, description="active: under way; on hold: paused, time can still be logged; finished: closed to "
                              "new time"),
    ) -> ProjectList:
        """Projects with their budget and the hours logged so far."""
        condition, params = where_equal(("p.customer_id", customer_id), ("p.status", status))
        found = rows(f"""SELECT p.id, p.customer_id, c.name AS customer, p.name, p.budget_hours, p.status, p.billable,
                                COALESCE(SUM(e.hours), 0) AS hours_logged
                         FROM projects p JOIN customers c ON c.id = p.customer_id
                         LEFT JOIN entries e ON e.project_id = p.id
                         WHERE {condition} GROUP BY p.id ORDER BY c.name, p.name""", *params)
        return ProjectList(projects=[Project(**r) for r in found])

    @mcp.tool(title="Create a project", annotations=CREATES)
    async def create_project(
        customer_id: int,
        name: str = Field(min_length=3, max_length=80, description="3 to 80 characters"),
        budget_hours: float = Field(ge=0, description="hours budgeted; list_projects compares the hours logged"),
        billable: bool = Field(True, description="whether its hours are invoiced (false for internal work)"),
        ctx: Context | None = None,
    ) -> Project:
        """Open a new, active project for a customer."""
        if not db.execute("SELECT 1 FROM customers WHERE id = ?", (customer_id,)).fetchone():
            raise Missing(f"There is no customer {customer_id}.")
        cursor = db.execute("INSERT INTO projects(customer_id, name, budget_hours, status, billable) "
                            "VALUES (?, ?, ?, 'active', ?)", (customer_id, name, budget_hours, int(billable)))
        if ctx is not None:
            await ctx.info(f"project {cursor.lastrowid} created for customer {customer_id}", logger_name="timesheet")
            await notices.resources_changed(ctx)
        return project(cursor.lastrowid)

    @mcp.tool(title="List entries", annotations=READ_ONLY)
    def list_entries(
        login: str | None = Field(None, description=LOGIN),
        project_id: int | None = None,
        customer_id: int | None = None,
        date_from: str | None = Field(None, description="ISO date, inclusive"),
        date_to: str | None = Field(None, description="ISO date, inclusive"),
        billable: bool | None = Field(None, description="only billable entries (true) or only the others (false)"),
        limit: int = Field(200, ge=1, le=5000),
        offset: int = Field(0, ge=0),
    ) -> EntryList:
        """Timesheet entries, newest first, filtered by person, project, customer, dates or billability."""
        condition, params = where_equal(("e.login", login), ("e.project_id", project_id),
                                        ("p.customer_id", customer_id),
                                        ("e.billable", None if billable is None else int(billable)))
        if date_from:
            condition += " AND e.day >= ?"
            params.append(date_from)
        if date_to:
            condition += " AND e.day <= ?"
            params.append(date_to)
        total, hours = db.execute(
            f"SELECT COUNT(*), COALESCE(SUM(e.hours), 0) FROM entries e JOIN projects p ON p.id = e.project_id "
            f"WHERE {condition}", params).fetchone()
        found = rows(f"{_ENTRY_SQL} WHERE {condition} ORDER BY e.day DESC, e.id DESC LIMIT ? OFFSET ?",
                     *params, limit, offset)
        return EntryList(entries=[entry_of(r) for r in found], total=total, hours=round(hours, 2),
                         next_offset=next_offset(total, offset, len(found)))

    @mcp.tool(title="Log time", annotations=CREATES)
    async def log_time(
        login: str = Field(description=LOGIN),
        project_id: int = Field(description="see list_projects"),
        activity: Literal["Development", "Design", "Project management", "Meetings", "Testing", "Support",
                          "Travel", "Internal", "Training", "Sales"] = Field(
            "Development", description="the kind of work: Development, Design, Project management, Meetings, "
                                       "Testing or Support (billed when the project is), or Travel, Internal, "
                                       "Training or Sales (never billed)"),
        day: str = Field(description="ISO date", pattern=r"^\d{4}-\d{2}-\d{2}$"),
        hours: float = Field(gt=0, le=24, description=HOURS),
        description: str = Field(min_length=3, description=NOTE),
        ctx: Context | None = None,
    ) -> Entry:
        """Record hours on a project. Calling twice records twice (not idempotent)."""
        person(login)
        found = project(project_id)
        if found.status == "finished":
            raise ToolError(f"Project {project_id} ({found.name}) is finished; time can no longer be logged on it.")
        writable(day)
        activity_id, activity_billable = db.execute("SELECT id, billable FROM activities WHERE name = ?",
                                                    (activity,)).fetchone()
        cursor = db.execute("INSERT INTO entries(login, project_id, activity_id, day, hours, description, billable) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (login, project_id, activity_id, day, hours, description,
                             int(found.billable and bool(activity_billable))))
        if ctx is not None:
            await ctx.info(f"{login} logged {hours:g} h on project {project_id} for {day}", logger_name="timesheet")
            await notices.updated(ctx, f"timesheet://people/{login}/weeks/{date.fromisoformat(day):%G-W%V}")
        return entry(cursor.lastrowid)

    @mcp.tool(title="Correct an entry", annotations=UPDATES)
    async def update_entry(
        entry_id: int,
        hours: float | None = Field(None, gt=0, le=24, description=HOURS),
        description: str | None = Field(None, min_length=3, description=NOTE),
        project_id: int | None = None,
        ctx: Context | None = None,
    ) -> Entry:
        """Change an entry's hours, description or project; fields not given are left alone."""
        current = entry(entry_id)
        writable(current.day)
        if project_id is not None:
            project(project_id)
        changes = {k: v for k, v in (("hours", hours), ("description", description), ("project_id", project_id))
                   if v is not None}
        if changes:
            db.execute(f"UPDATE entries SET {', '.join(f'{k} = ?' for k in changes)} WHERE id = ?",
                       (*changes.values(), entry_id))
            if ctx is not None:
                await ctx.info(f"entry {entry_id} corrected: {changes}", logger_name="timesheet")
                week = f"{date.fromisoformat(current.day):%G-W%V}"
                await notices.updated(ctx, f"timesheet://people/{current.login}/weeks/{week}")
        return entry(entry_id)

    def confirm_delete(entry_ids: list[int], ctx: Context) -> object:
        found = [entry(i) for i in entry_ids]
        hours = sum(e.hours for e in found)
        return confirm(ctx, f"Delete {len(found)} timesheet entries ({hours:g} hours)? This cannot be undone.",
                       DeleteConfirmation)

    @mcp.tool(title="Delete entries", annotations=DESTROYS)
    async def delete_entries(
        entry_ids: list[int] = Field(min_length=1, max_length=500),
        confirmation: Annotated[ElicitationResult[DeleteConfirmation], Resolve(confirm_delete)] = None,
        ctx: Context | None = None,
    ) -> Deleted:
        """Delete timesheet entries outside the locked period. The person is asked to confirm first."""
        found = [entry(i) for i in entry_ids]
        for item in found:
            writable(item.day)
        require_confirmed(confirmation, "Nothing was deleted")
        db.execute(f"DELETE FROM entries WHERE id IN ({', '.join('?' * len(entry_ids))})", entry_ids)
        hours = round(sum(e.hours for e in found), 2)
        if ctx is not None:
            await ctx.warning(f"{len(found)} entries deleted ({hours:g} h)", logger_name="timesheet")
        return Deleted(deleted=len(found), hours=hours)

    def confirm_lock(until: str, ctx: Context) -> object:
        count = db.execute("SELECT COUNT(*) FROM entries WHERE day > ? AND day <= ?",
                           (locked_until(), until)).fetchone()[0]
        return confirm(ctx, f"Lock {count} entries from {locked_until()} to {until}? Locked entries can never "
                            "change again (they go to invoicing).", LockConfirmation)

    @mcp.tool(title="Lock a period", annotations=DESTROYS)
    async def lock_period(
        until: str = Field(description="ISO date: every entry up to and including it is locked",
                           pattern=r"^\d{4}-\d{2}-\d{2}$"),
        confirmation: Annotated[ElicitationResult[LockConfirmation], Resolve(confirm_lock)] = None,
        ctx: Context | None = None,
    ) -> Lock:
        """Close the books up to a date, for invoicing. It cannot be undone, so the person confirms first;
        locking again up to the same date changes nothing."""
        if until <= locked_until():
            return Lock(locked_until=locked_until(), entries_locked=0)
        require_confirmed(confirmation, "Nothing was locked")
        count = db.execute("SELECT COUNT(*) FROM entries WHERE day > ? AND day <= ?",
                           (locked_until(), until)).fetchone()[0]
        db.execute("UPDATE locks SET locked_until = ?", (until,))
        if ctx is not None:
            await ctx.warning(f"entries up to {until} locked ({count})", logger_name="timesheet")
        return Lock(locked_until=until, entries_locked=count)

    @mcp.tool(title="Hours report", annotations=READ_ONLY)
    async def hours_report(
        group_by: Literal["project", "customer", "person", "activity", "week", "month"] = Field(
            "customer", description="one row per project, customer, person, activity, week (from Monday) or month"),
        date_from: str = Field(YEAR_START.isoformat(), description="ISO date, inclusive"),
        date_to: str = Field(TODAY.isoformat(), description="ISO date, inclusive"),
        delay: float = Field(0.03, ge=0, le=10, description=DELAY),
        ctx: Context | None = None,
    ) -> Report:
        """Hours, billable hours and revenue per group over a date range; reports progress month by
        month, and cancelling stops it."""
        key = _GROUPS[group_by]
        months = [r[0] for r in db.execute("SELECT DISTINCT substr(day, 1, 7) FROM entries WHERE day BETWEEN ? AND ? "
                                           "ORDER BY 1", (date_from, date_to))]
        totals: dict[str, list[float]] = {}
        for done, month in enumerate(months, start=1):
            for group, hours, billable_hours, revenue, count in db.execute(
                    f"""SELECT {key}, SUM(e.hours), SUM(e.hours * e.billable), SUM(e.hours * e.billable * c.hourly_rate),
                               COUNT(*)
                        FROM entries e JOIN projects p ON p.id = e.project_id JOIN customers c ON c.id = p.customer_id
                        JOIN activities a ON a.id = e.activity_id
                        WHERE e.day BETWEEN ? AND ? AND substr(e.day, 1, 7) = ? GROUP BY 1""",
                    (date_from, date_to, month)):
                row = totals.setdefault(str(group), [0.0, 0.0, 0.0, 0])
                for i, value in enumerate((hours, billable_hours, revenue, count)):
                    row[i] += value
            if ctx is not None:
                await ctx.report_progress(done, len(months), month)
            await anyio.sleep(delay)  # a real tracker pages through its API; a cancel lands here
        report = [ReportRow(group=g, hours=round(h, 2), billable_hours=round(b, 2), revenue=round(r, 2),
                            entries=int(n)) for g, (h, b, r, n) in sorted(totals.items())]
        if ctx is not None:
            await ctx.info(f"hours report by {group_by}: {len(report)} rows", logger_name="timesheet")
        return Report(group_by=group_by, date_from=date_from, date_to=date_to, rows=report)

    def week_rows(login: str, week: str) -> list[dict]:
        person(login)
        monday, sunday = _iso_week(week)
        return rows(_ENTRY_SQL + " WHERE e.login = ? AND e.day BETWEEN ? AND ? ORDER BY e.day, e.id",
                    login, monday.isoformat(), sunday.isoformat())

    def ask_for_week_summary(login: str, week: str, ctx: Context) -> object:
        lines = "\n".join(f"{r['day']} {r['hours']:g} h {r['customer']} / {r['project']} ({r['activity']}): "
                          f"{r['description']}" for r in week_rows(login, week))
        return summary_request(ctx, f"Summarise {login}'s week {week} for a status report, in three sentences:",
                               lines or "(no entries)")

    @mcp.tool(title="Summarise a week", annotations=READ_ONLY)
    async def summarise_week(
        login: str = Field(description=LOGIN),
        week: str = Field(description="ISO week, e.g. 2026-W40", pattern=r"^\d{4}-W\d{2}$"),
        reply: Annotated[types.CreateMessageResult | None, Resolve(ask_for_week_summary)] = None,
    ) -> WeekSummary:
        """A person's week in a few sentences, written by the client's model (sampling); totals per
        project when the client offers no sampling."""
        found = week_rows(login, week)
        hours = round(sum(r["hours"] for r in found), 2)
        if reply is not None:
            return WeekSummary(login=login, week=week, hours=hours, summary=reply_text(reply), by=reply.model)
        per_project: dict[str, float] = {}
        for r in found:
            per_project[r["project"]] = per_project.get(r["project"], 0) + r["hours"]
        text = "; ".join(f"{p}: {h:g} h" for p, h in sorted(per_project.items(), key=lambda i: -i[1])) or "no time"
        return WeekSummary(login=login, week=week, hours=hours, summary=text, by="totals")

    # -- resources ----------------------------------------------------------------------

    @mcp.resource("timesheet://activities", title="Activities", mime_type="application/json")
    def activities() -> str:
        """Every activity and whether its time is billable."""
        return json.dumps(rows("SELECT name, billable FROM activities ORDER BY id"))

    @mcp.resource("timesheet://people", title="People", mime_type="application/json")
    def people() -> str:
        """The team: logins, teams and contracted weekly hours."""
        return json.dumps(rows("SELECT * FROM people ORDER BY login"))

    @mcp.resource("timesheet://policy", title="Timesheet policy", mime_type="text/markdown")
    def policy() -> str:
        """When time must be logged and what locking means."""
        return (f"# Timesheet policy\n\n- Log time daily, in steps of a quarter hour.\n"
                f"- Entries are locked monthly for invoicing; locked entries never change.\n"
                f"- Currently locked up to {locked_until()}.\n")

    @mcp.resource("timesheet://projects/{project_id}", title="Project", mime_type="application/json")
    def project_resource(project_id: int) -> str:
        """One project with its budget and hours logged, as JSON."""
        return project(project_id).model_dump_json()

    @mcp.resource("timesheet://people/{login}/weeks/{week}", title="A person's week", mime_type="application/json")
    def week_resource(login: str, week: str) -> str:
        """A person's entries in one ISO week (e.g. 2026-W40), as JSON."""
        return json.dumps(week_rows(login, week))

    def projects_as_resources() -> list[types.Resource]:
        return [types.Resource(uri=f"timesheet://projects/{r[0]}", name=f"project-{r[0]}", title=f"{r[1]}: {r[2]}",
                               mime_type="application/json")
                for r in db.execute("SELECT p.id, c.name, p.name FROM projects p JOIN customers c "
                                    "ON c.id = p.customer_id ORDER BY p.id")]

    paged_resources(mcp, projects_as_resources)

    # -- prompts and completions --------------------------------------------------------

    @mcp.prompt(title="Weekly status report")
    def status_report(login: str, week: str) -> str:
        """Ask a model for a short status report on a person's week."""
        found = week_rows(login, week)
        lines = "\n".join(f"- {r['day']}: {r['hours']:g} h, {r['project']} ({r['activity']}): {r['description']}"
                          for r in found)
        return f"Write a five-line status report for {login}'s week {week} from these entries:\n{lines}"

    @mcp.prompt(title="Invoice note")
    def invoice_note(customer_id: str, month: str) -> str:
        """Ask a model for the note that goes with a customer's monthly invoice."""
        found = rows("""SELECT p.name AS project, a.name AS activity, SUM(e.hours) AS hours
                        FROM entries e JOIN projects p ON p.id = e.project_id JOIN activities a ON a.id = e.activity_id
                        WHERE p.customer_id = ? AND substr(e.day, 1, 7) = ? AND e.billable = 1
                        GROUP BY 1, 2 ORDER BY 3 DESC""", int(customer_id), month)
        if not found:
            raise Missing(f"Customer {customer_id} has no billable time in {month}.")
        lines = "\n".join(f"- {r['project']}, {r['activity']}: {r['hours']:g} h" for r in found)
        return f"Write a polite invoice note for {month} covering:\n{lines}"

    @mcp.completion()
    async def complete(ref, argument, context):  # noqa: ANN001  (SDK callback signature)
        typed = argument.value or ""
        if not isinstance(ref, (PromptReference, ResourceTemplateReference)):
            return None
        if argument.name == "login":
            return Completion(values=[r[0] for r in db.execute(
                "SELECT login FROM people WHERE login LIKE ? ORDER BY login", (f"{typed}%",))])
        if argument.name == "week":
            weeks = sorted({f"{date.fromisoformat(r[0]):%G-W%V}" for r in db.execute("SELECT DISTINCT day FROM entries")},
                           reverse=True)
            return Completion(values=[w for w in weeks if w.startswith(typed)][:100])
        if argument.name == "month":
            return Completion(values=[r[0] for r in db.execute(
                "SELECT DISTINCT substr(day, 1, 7) FROM entries ORDER BY 1 DESC") if r[0].startswith(typed)])
        if argument.name in ("customer_id", "project_id"):
            return complete_ids(db, "customers" if argument.name == "customer_id" else "projects", typed)
        return None

    return mcp
