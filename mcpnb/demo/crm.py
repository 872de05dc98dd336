"""The crm demo: a sales CRM.

What it stands in for: the system a sales team keeps its pipeline in. The data:
organisations, contacts, pipeline stages, leads (thousands, with their history
of stages), sales activities (calls, emails, meetings) and newsletters with
their sends, seeded deterministically (see store.py).

Protocol features shown: tools with structured output and honest annotations
(erasing a contact cannot be undone; sending a newsletter reaches the outside
world); resources and templates; prompts with completions; log messages on
writes; progress and cancellation in the pipeline report; elicitation before
erasing or sending; sampling for an account brief; resource updates and list
changes in both eras; an MCP App, the pipeline board (board.py), whose
delete_lead tool is offered to the app only.
"""


import json
import random
import sqlite3
from datetime import datetime, timedelta
from typing import Annotated, Literal

import anyio
import mcp_types as types
from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Resolve
from mcp_types import Completion, PromptReference, ResourceTemplateReference, ToolAnnotations
from pydantic import BaseModel, Field

from .board import board_app
from .kit import (CREATES, DELAY, DESTROYS, READ_ONLY, UPDATES, complete_ids, confirm, fetch_page, Missing, next_offset,
                  Notices, paged_resources, person, reply_text, require_confirmed, rows_of, summary_request,
                  where_equal)

NAME = "crm"
SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE organisations (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, industry TEXT NOT NULL, country TEXT NOT NULL,
    employees INTEGER NOT NULL
);
CREATE TABLE contacts (
    id INTEGER PRIMARY KEY, organisation_id INTEGER REFERENCES organisations(id), name TEXT NOT NULL,
    email TEXT NOT NULL, job_title TEXT NOT NULL, subscribed INTEGER NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE stages (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, position INTEGER NOT NULL, probability REAL NOT NULL
);
CREATE TABLE leads (
    id INTEGER PRIMARY KEY, organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    contact_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL, title TEXT NOT NULL, value REAL NOT NULL,
    stage TEXT NOT NULL REFERENCES stages(name), owner TEXT NOT NULL, source TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, closed_at TEXT
);
CREATE TABLE stage_changes (
    lead_id INTEGER NOT NULL REFERENCES leads(id), stage TEXT NOT NULL, changed_at TEXT NOT NULL
);
CREATE TABLE activities (
    id INTEGER PRIMARY KEY, lead_id INTEGER REFERENCES leads(id), contact_id INTEGER REFERENCES contacts(id)
    ON DELETE SET NULL, kind TEXT NOT NULL, happened_at TEXT NOT NULL, owner TEXT NOT NULL, notes TEXT NOT NULL
);
CREATE TABLE newsletters (
    id INTEGER PRIMARY KEY, subject TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL, sent_at TEXT,
    recipients INTEGER NOT NULL, opens INTEGER NOT NULL, clicks INTEGER NOT NULL
);
CREATE INDEX leads_stage ON leads(stage, owner);
CREATE INDEX contacts_org ON contacts(organisation_id);
CREATE INDEX activities_lead ON activities(lead_id);
CREATE INDEX stage_changes_lead ON stage_changes(lead_id)
"""

EPOCH = datetime(2025, 1, 6, 9, 0, 0)
NOW = datetime(2026, 11, 1, 12, 0, 0)
STAGES = [("new", 1, 0.05), ("qualified", 2, 0.2), ("proposal", 3, 0.45), ("negotiation", 4, 0.7),
          ("won", 5, 1.0), ("lost", 6, 0.0)]
STAGE_NAMES = tuple(name for name, _, _ in STAGES)
OPEN_STAGES = ("new", "qualified", "proposal", "negotiation")
OWNERS = ("amira", "bogdan", "chloe", "dev", "elena", "lena")
INDUSTRIES = ("software", "retail", "manufacturing", "healthcare", "finance", "education", "logistics", "media")
SOURCES = ("website", "referral", "event", "newsletter", "outbound")
KINDS = ("call", "email", "meeting", "demo")
TONES = ("friendly", "formal", "brief")

# What each stage means (the playbook's words), for every tool that takes one: a model reads descriptions.
STAGE = ("new: a known need; qualified: budget, authority, need and timing checked; proposal: offer sent; "
         "negotiation: terms discussed; won, lost: closed")
OWNER = "a salesperson, e.g. " + ", ".join(OWNERS)

_COUNTRIES = ["Portugal", "Germany", "Ireland", "Netherlands", "Norway", "Spain", "France", "Estonia", "Italy",
              "United Kingdom", "Poland", "Sweden"]
_SYLLABLES = ["ar", "bel", "cor", "dan", "el", "fin", "gor", "hal", "is", "jun", "kel", "lor", "mar", "nor",
              "ost", "pel", "quin", "ros", "sol", "tor", "ul", "ven", "wes", "yor", "zen"]
_SUFFIXES = ["GmbH", "Ltd", "SA", "BV", "AS", "Group", "Labs", "& Co", "Systems", "Partners"]
_JOBS = ["CEO", "CTO", "Head of Sales", "Marketing Manager", "Operations Lead", "Procurement", "IT Manager",
         "Finance Director", "Product Owner", "Office Manager"]
_DEALS = ["Annual licence", "Pilot", "Expansion", "Renewal", "Consulting package", "Training", "Enterprise plan",
          "Integration project"]
_NOTES = ["introduced the product", "sent pricing", "followed up on the proposal", "discussed the timeline",
          "met the procurement team", "answered security questions", "scheduled a demo", "asked for references"]
_NEWSLETTERS = ["Spring product update", "Customer story: faster onboarding", "Webinar invitation",
                "Summer release notes", "Pricing changes explained", "Autumn roadmap", "Year in review",
                "Security whitepaper", "New integrations", "Tips for admins"]


class Organisation(BaseModel):
    id: int
    name: str
    industry: str
    country: str
    employees: int
    contacts: int
    open_leads: int
    pipeline_value: float = Field(description="value of open leads")


class OrganisationList(BaseModel):
    organisations: list[Organisation]
    total: int
    next_offset: int | None


class Contact(BaseModel):
    id: int
    organisation_id: int | None
    organisation: str | None
    name: str
    email: str
    job_title: str
    subscribed: bool
    created_at: str


class ContactList(BaseModel):
    contacts: list[Contact]
    total: int = Field(description="matches in all, beyond this page")
    next_offset: int | None = Field(description="offset of the next page, or null on the last")


class Lead(BaseModel):
    id: int
    organisation_id: int
    organisation: str
    contact_id: int | None
    title: str
    value: float
    stage: str
    probability: float
    owner: str
    source: str
    created_at: str
    updated_at: str
    closed_at: str | None


class LeadList(BaseModel):
    leads: list[Lead]
    total: int
    value: float = Field(description="value of all matches")
    next_offset: int | None


class Activity(BaseModel):
    id: int
    lead_id: int | None
    contact_id: int | None
    kind: str
    happened_at: str
    owner: str
    notes: str


class LeadDetail(Lead):
    history: list[dict] = Field(description="the stages it went through, with dates")
    activities: list[Activity]


class StageRow(BaseModel):
    stage: str
    leads: int = Field(description="leads that reached this stage")
    conversion: float | None = Field(description="share of leads reaching this stage that reached the next")
    open_value: float = Field(description="value of leads sitting in this stage now")
    weighted_value: float = Field(description="open value times the stage's probability")


class PipelineReport(BaseModel):
    created_from: str
    created_to: str
    owner: str | None
    rows: list[StageRow]


class Newsletter(BaseModel):
    id: int
    subject: str
    status: str
    sent_at: str | None
    recipients: int
    opens: int
    clicks: int


class EraseConfirmation(BaseModel):
    confirm: bool = Field(True, description="Erase this person's data for good (cannot be undone)")


class SendConfirmation(BaseModel):
    confirm: bool = Field(True, description="Send it now to every subscribed contact")


class Erased(BaseModel):
    contact_id: int
    activities_anonymised: int


class LeadDeleted(BaseModel):
    lead_id: int
    activities_deleted: int


class AccountBrief(BaseModel):
    organisation_id: int
    brief: str
    by: str = Field(description="the model that wrote it, or 'figures' when the client cannot sample")


# -- seed -------------------------------------------------------------------------------


def seed(db: sqlite3.Connection) -> None:
    """Fill an empty database with the same rows every time."""
    rng = random.Random(20250106)
    db.executemany("INSERT INTO stages VALUES (?, ?, ?, ?)", [(i, *s) for i, s in enumerate(STAGES, start=1)])
    organisations = []
    for org_id in range(1, 701):
        name = (rng.choice(_SYLLABLES) + rng.choice(_SYLLABLES)).title() + " " + rng.choice(_SUFFIXES)
        organisations.append((org_id, name, rng.choice(INDUSTRIES), rng.choice(_COUNTRIES),
                              int(rng.paretovariate(1.2) * 20)))
    db.executemany("INSERT INTO organisations VALUES (?, ?, ?, ?, ?)", organisations)
    contacts = []
    for contact_id in range(1, 3001):
        org = rng.choice(organisations) if rng.random() < 0.93 else None
        name, email = person(rng, org[1].split()[0].lower() + ".example" if org else "example.net")
        created = EPOCH + timedelta(days=rng.randint(0, 650), minutes=rng.randint(0, 1439))
        contacts.append((contact_id, org[0] if org else None, name, email, rng.choice(_JOBS),
                         int(rng.random() < 0.55), created.isoformat(timespec="seconds")))
    db.executemany("INSERT INTO contacts VALUES (?, ?, ?, ?, ?, ?, ?)", contacts)
    by_org: dict[int, list[tuple]] = {}
    for contact in contacts:
        if contact[1]:
            by_org.setdefault(contact[1], []).append(contact)

    leads, changes, activities = [], [], []
    for lead_id in range(1, 4501):
        org = rng.choice(organisations)
        while org[0] not in by_org:  # leads go to organisations with someone to talk to
            org = rng.choice(organisations)
        contact = rng.choice(by_org[org[0]])
        created = EPOCH + timedelta(days=rng.randint(0, 640), minutes=rng.randint(0, 1439))
        owner = rng.choice(OWNERS)
        value = round(rng.choice([2, 5, 8, 12, 20, 35, 60, 120]) * 1000 * (1 + org[4] / 2000), -2)
        reached, at = "new", created
        changes.append((lead_id, "new", created.isoformat(timespec="seconds")))
        for stage in ("qualified", "proposal", "negotiation", "won"):
            chance = {"qualified": 0.6, "proposal": 0.6, "negotiation": 0.65, "won": 0.55}[stage]
            step = timedelta(days=rng.randint(3, 40))
            if at + step > NOW:
                break
            if rng.random() > chance:
                if rng.random() < 0.7:  # dropped out: lost; else still sitting in the stage
                    at = min(NOW, at + step)
                    reached = "lost"
                    changes.append((lead_id, "lost", at.isoformat(timespec="seconds")))
                break
            at += step
            reached = stage
            changes.append((lead_id, stage, at.isoformat(timespec="seconds")))
        closed = at.isoformat(timespec="seconds") if reached in ("won", "lost") else None
        leads.append((lead_id, org[0], contact[0], f"{rng.choice(_DEALS)} for {org[1]}", value, reached, owner,
                      rng.choice(SOURCES), created.isoformat(timespec="seconds"), at.isoformat(timespec="seconds"),
                      closed))
        for _ in range(rng.randint(1, 6)):
            when = created + (at - created) * rng.random()
            activities.append((len(activities) + 1, lead_id, contact[0], rng.choice(KINDS),
                               when.isoformat(timespec="seconds"), owner, rng.choice(_NOTES)))
    db.executemany("INSERT INTO leads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", leads)
    db.executemany("INSERT INTO stage_changes VALUES (?, ?, ?)", changes)
    db.executemany("INSERT INTO activities VALUES (?, ?, ?, ?, ?, ?, ?)", activities)

    subscribed = sum(c[5] for c in contacts)
    newsletters = []
    for number, subject in enumerate(_NEWSLETTERS, start=1):
        sent = EPOCH + timedelta(days=number * 75)  # the last two are still drafts
        if sent < NOW:
            opens = int(subscribed * rng.uniform(0.25, 0.45))
            newsletters.append((number, subject, f"# {subject}\n\nNews from our team.", "sent",
                                sent.isoformat(timespec="seconds"), subscribed, opens, int(opens * rng.uniform(0.1, 0.3))))
        else:
            newsletters.append((number, subject, f"# {subject}\n\nDraft.", "draft", None, 0, 0, 0))
    db.executemany("INSERT INTO newsletters VALUES (?, ?, ?, ?, ?, ?, ?, ?)", newsletters)


# -- the server -------------------------------------------------------------------------

_LEAD_SQL = """SELECT l.id, l.organisation_id, o.name AS organisation, l.contact_id, l.title, l.value, l.stage,
                      s.probability, l.owner, l.source, l.created_at, l.updated_at, l.closed_at
               FROM leads l JOIN organisations o ON o.id = l.organisation_id JOIN stages s ON s.name = l.stage"""
_CONTACT_SQL = """SELECT c.id, c.organisation_id, o.name AS organisation, c.name, c.email, c.job_title, c.subscribed,
                         c.created_at FROM contacts c LEFT JOIN organisations o ON o.id = c.organisation_id"""
_ORG_SQL = """SELECT o.*, (SELECT COUNT(*) FROM contacts c WHERE c.organisation_id = o.id) AS contacts,
                     (SELECT COUNT(*) FROM leads l WHERE l.organisation_id = o.id
                      AND l.stage NOT IN ('won', 'lost')) AS open_leads,
                     (SELECT COALESCE(SUM(value), 0) FROM leads l WHERE l.organisation_id = o.id
                      AND l.stage NOT IN ('won', 'lost')) AS pipeline_value
              FROM organisations o"""

SENDS = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)


def build(db: sqlite3.Connection) -> MCPServer:
    """The crm MCP server over ``db``."""
    mcp = MCPServer(
        "crm",
        title="CRM (demo)",
        version="1.0",
        instructions=(
            "A sales CRM: organisations, contacts, leads moving through pipeline stages (new, qualified, "
            "proposal, negotiation, won, lost), sales activities and newsletters. Search, move leads, log "
            "activities, report the pipeline. All data is made up."
        ),
        extensions=[board_app(db)],  # the pipeline board, an MCP App
    )
    notices = Notices(mcp)

    def rows(sql: str, *params: object) -> list[dict]:
        return rows_of(db, sql, *params)

    def lead(lead_id: int) -> Lead:
        found = rows(_LEAD_SQL + " WHERE l.id = ?", lead_id)
        if not found:
            raise Missing(f"There is no lead {lead_id}.")
        return Lead(**found[0])

    def contact(contact_id: int) -> Contact:
        found = rows(_CONTACT_SQL + " WHERE c.id = ?", contact_id)
        if not found:
            raise Missing(f"There is no contact {contact_id}.")
        return Contact(**found[0])

    def organisation(org_id: int) -> Organisation:
        found = rows(_ORG_SQL + " WHERE o.id = ?", org_id)
        if not found:
            raise Missing(f"There is no organisation {org_id}.")
        return Organisation(**found[0])

    @mcp.tool(title="Search contacts", annotations=READ_ONLY)
    def search_contacts(
        query: str = Field("", description="words in the name, email or job title; empty for all"),
        organisation_id: int | None = Field(None, description="ids from list_organisations"),
        subscribed: bool | None = Field(None, description="only newsletter subscribers (true) or not (false)"),
        limit: int = Field(100, ge=1, le=5000),
        offset: int = Field(0, ge=0),
    ) -> ContactList:
        """Contacts, newest first, found by words in their name, email or job title, filtered by organisation
        or newsletter subscription."""
        condition, params = where_equal(("c.organisation_id", organisation_id),
                                        ("c.subscribed", None if subscribed is None else int(subscribed)))
        for word in query.split():
            condition += " AND (c.name LIKE ? OR c.email LIKE ? OR c.job_title LIKE ?)"
            params += [f"%{word}%"] * 3
        found, paging = fetch_page(db, "contacts c", _CONTACT_SQL, condition, params, "c.created_at DESC, c.id",
                                   limit, offset)
        return ContactList(contacts=[Contact(**r) for r in found], **paging)

    @mcp.tool(title="List organisations", annotations=READ_ONLY)
    def list_organisations(
        industry: Literal["software", "retail", "manufacturing", "healthcare", "finance", "education", "logistics",
                          "media"] | None = Field(
            None, description="its sector: software, retail, manufacturing, healthcare, finance, education, "
                              "logistics or media"),
        country: str | None = Field(None, description="the country's English name, e.g. Germany"),
        limit: int = Field(100, ge=1, le=1000),
        offset: int = Field(0, ge=0),
    ) -> OrganisationList:
        """Organisations with their contacts, open leads and open pipeline value, largest pipeline first."""
        condition, params = where_equal(("o.industry", industry), ("o.country", country))
        found, paging = fetch_page(db, "organisations o", _ORG_SQL, condition, params, "pipeline_value DESC, o.id",
                                   limit, offset)
        return OrganisationList(organisations=[Organisation(**r) for r in found], **paging)

    @mcp.tool(title="List leads", annotations=READ_ONLY)
    def list_leads(
        stage: Literal["new", "qualified", "proposal", "negotiation", "won", "lost"] | None = Field(
            None, description=STAGE),
        owner: str | None = Field(None, description=OWNER),
        organisation_id: int | None = None,
        source: Literal["website", "referral", "event", "newsletter", "outbound"] | None = Field(
            None, description="how it came in: website (a form), referral (recommended), event, newsletter "
                              "(answered one), outbound (we reached out)"),
        created_from: str | None = Field(None, description="ISO date, inclusive"),
        limit: int = Field(100, ge=1, le=5000),
        offset: int = Field(0, ge=0),
    ) -> LeadList:
        """Leads, most recently updated first, filtered by stage, owner, organisation, source or age."""
        condition, params = where_equal(("l.stage", stage), ("l.owner", owner), ("l.organisation_id", organisation_id),
                                        ("l.source", source))
        if created_from:
            condition += " AND l.created_at >= ?"
            params.append(created_from)
        total, value = db.execute(f"SELECT COUNT(*), COALESCE(SUM(value), 0) FROM leads l WHERE {condition}",
                                  params).fetchone()
        found = rows(f"{_LEAD_SQL} WHERE {condition} ORDER BY l.updated_at DESC, l.id LIMIT ? OFFSET ?",
                     *params, limit, offset)
        return LeadList(leads=[Lead(**r) for r in found], total=total, value=round(value, 2),
                        next_offset=next_offset(total, offset, len(found)))

    @mcp.tool(title="Get lead", annotations=READ_ONLY)
    def get_lead(lead_id: int) -> LeadDetail:
        """One lead with the stages it went through and its activities."""
        found = lead(lead_id)
        history = rows("SELECT stage, changed_at FROM stage_changes WHERE lead_id = ? ORDER BY changed_at, rowid",
                       lead_id)
        done = rows("SELECT * FROM activities WHERE lead_id = ? ORDER BY happened_at", lead_id)
        return LeadDetail(**found.model_dump(), history=history, activities=[Activity(**a) for a in done])

    @mcp.tool(title="Move a lead", annotations=UPDATES)
    async def move_lead(
        lead_id: int,
        stage: Literal["new", "qualified", "proposal", "negotiation", "won", "lost"] = Field(description=STAGE),
        ctx: Context | None = None,
    ) -> Lead:
        """Move a lead to a pipeline stage (won and lost close it); moving it where it is changes nothing."""
        current = lead(lead_id)
        if current.stage != stage:
            now = datetime.now().isoformat(timespec="seconds")
            db.execute("UPDATE leads SET stage = ?, updated_at = ?, closed_at = ? WHERE id = ?",
                       (stage, now, now if stage in ("won", "lost") else None, lead_id))
            db.execute("INSERT INTO stage_changes VALUES (?, ?, ?)", (lead_id, stage, now))
            if ctx is not None:
                await ctx.info(f"lead {lead_id}: {current.stage} -> {stage}", logger_name="crm")
                await notices.updated(ctx, f"crm://leads/{lead_id}")
        return lead(lead_id)

    @mcp.tool(title="Delete a lead", annotations=DESTROYS, meta={"ui": {"visibility": ["app"]}})
    async def delete_lead(lead_id: int, ctx: Context | None = None) -> LeadDeleted:
        """Delete a lead entered by mistake, with its stage history and activities; this cannot be undone.
        Offered to the pipeline board app (_meta.ui.visibility: app), whose host asks the person first."""
        lead(lead_id)
        removed = db.execute("DELETE FROM activities WHERE lead_id = ?", (lead_id,)).rowcount
        db.execute("DELETE FROM stage_changes WHERE lead_id = ?", (lead_id,))
        db.execute("DELETE FROM leads WHERE id = ?", (lead_id,))
        if ctx is not None:
            await ctx.warning(f"lead {lead_id} deleted", logger_name="crm")
            await notices.updated(ctx, f"crm://leads/{lead_id}")
        return LeadDeleted(lead_id=lead_id, activities_deleted=removed)

    @mcp.tool(title="Log a sales activity", annotations=CREATES)
    async def log_activity(
        lead_id: int,
        kind: Literal["call", "email", "meeting", "demo"] = Field(
            description="call (phone), email, meeting (in person or video) or demo (of the product)"),
        notes: str = Field(min_length=3, description="what happened, 3 characters or more"),
        owner: str = Field("notebook", description="who did it"),
        ctx: Context | None = None,
    ) -> Activity:
        """Record a call, email, meeting or demo on a lead. Calling twice records twice."""
        current = lead(lead_id)
        now = datetime.now().isoformat(timespec="seconds")
        cursor = db.execute("INSERT INTO activities(lead_id, contact_id, kind, happened_at, owner, notes) "
                            "VALUES (?, ?, ?, ?, ?, ?)", (lead_id, current.contact_id, kind, now, owner, notes))
        db.execute("UPDATE leads SET updated_at = ? WHERE id = ?", (now, lead_id))
        if ctx is not None:
            await ctx.info(f"{kind} logged on lead {lead_id}", logger_name="crm")
            await notices.updated(ctx, f"crm://leads/{lead_id}")
        return Activity(**rows("SELECT * FROM activities WHERE id = ?", cursor.lastrowid)[0])

    @mcp.tool(title="Create a contact", annotations=CREATES)
    async def create_contact(
        name: str = Field(min_length=2, description="the person's full name, 2 characters or more"),
        email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", description="their email address"),
        job_title: str = Field("", description="e.g. Head of Sales; empty if unknown"),
        organisation_id: int | None = None,
        subscribed: bool = Field(False, description="whether they get the newsletter (only with their consent)"),
        ctx: Context | None = None,
    ) -> Contact:
        """Add a contact, optionally to an organisation and the newsletter list."""
        if organisation_id is not None:
            organisation(organisation_id)
        cursor = db.execute("INSERT INTO contacts(organisation_id, name, email, job_title, subscribed, created_at) "
                            "VALUES (?, ?, ?, ?, ?, ?)", (organisation_id, name, email, job_title, int(subscribed),
                                                          datetime.now().isoformat(timespec="seconds")))
        if ctx is not None:
            await ctx.info(f"contact {cursor.lastrowid} created", logger_name="crm")
            await notices.resources_changed(ctx)
        return contact(cursor.lastrowid)

    def confirm_erase(contact_id: int, ctx: Context) -> object:
        found = contact(contact_id)
        return confirm(ctx, f"Erase {found.name} <{found.email}> ({found.organisation or 'no organisation'})? "
                            "Their details are deleted and their activities anonymised; this cannot be undone.",
                       EraseConfirmation)

    @mcp.tool(title="Erase a contact", annotations=DESTROYS)
    async def erase_contact(
        contact_id: int,
        confirmation: Annotated[ElicitationResult[EraseConfirmation], Resolve(confirm_erase)] = None,
        ctx: Context | None = None,
    ) -> Erased:
        """Erase a person's data on request (GDPR): the contact is deleted, its activities kept without it.
        The person using the CRM is asked to confirm first."""
        contact(contact_id)
        require_confirmed(confirmation, f"Contact {contact_id} was not erased")
        anonymised = db.execute("UPDATE activities SET contact_id = NULL WHERE contact_id = ?", (contact_id,)).rowcount
        db.execute("UPDATE leads SET contact_id = NULL WHERE contact_id = ?", (contact_id,))
        db.execute("DELETE FROM contacts WHERE id = ?", (contact_id,))
        if ctx is not None:
            await ctx.warning(f"contact {contact_id} erased", logger_name="crm")
            await notices.updated(ctx, f"crm://contacts/{contact_id}")
            await notices.resources_changed(ctx)
        return Erased(contact_id=contact_id, activities_anonymised=anonymised)

    @mcp.tool(title="List newsletters", annotations=READ_ONLY)
    def list_newsletters() -> list[Newsletter]:
        """Every newsletter with its sends, opens and clicks."""
        return [Newsletter(**r) for r in rows("SELECT id, subject, status, sent_at, recipients, opens, clicks "
                                              "FROM newsletters ORDER BY id")]

    def confirm_send(newsletter_id: int, ctx: Context) -> object:
        found = rows("SELECT subject FROM newsletters WHERE id = ?", newsletter_id)
        if not found:
            raise Missing(f"There is no newsletter {newsletter_id}.")
        count = db.execute("SELECT COUNT(*) FROM contacts WHERE subscribed = 1").fetchone()[0]
        return confirm(ctx, f"Send '{found[0]['subject']}' to {count} subscribed contacts now?", SendConfirmation)

    @mcp.tool(title="Send a newsletter", annotations=SENDS)
    async def send_newsletter(
        newsletter_id: int,
        confirmation: Annotated[ElicitationResult[SendConfirmation], Resolve(confirm_send)] = None,
        ctx: Context | None = None,
    ) -> Newsletter:
        """Send a draft newsletter to every subscribed contact (simulated: nothing leaves this machine).
        Emails cannot be recalled, so the person confirms first."""
        found = rows("SELECT * FROM newsletters WHERE id = ?", newsletter_id)
        if not found:
            raise Missing(f"There is no newsletter {newsletter_id}.")
        if found[0]["status"] == "sent":
            raise ToolError(f"Newsletter {newsletter_id} was already sent on {found[0]['sent_at']}.")
        require_confirmed(confirmation, f"Newsletter {newsletter_id} was not sent")
        recipients = db.execute("SELECT COUNT(*) FROM contacts WHERE subscribed = 1").fetchone()[0]
        db.execute("UPDATE newsletters SET status = 'sent', sent_at = ?, recipients = ? WHERE id = ?",
                   (datetime.now().isoformat(timespec="seconds"), recipients, newsletter_id))
        if ctx is not None:
            await ctx.warning(f"newsletter {newsletter_id} sent to {recipients}", logger_name="crm")
        return Newsletter(**rows("SELECT id, subject, status, sent_at, recipients, opens, clicks FROM newsletters "
                                 "WHERE id = ?", newsletter_id)[0])

    @mcp.tool(title="Pipeline report", annotations=READ_ONLY)
    async def pipeline_report(
        created_from: str = Field(EPOCH.date().isoformat(), description="leads created from this ISO date"),
        created_to: str = Field(NOW.date().isoformat(), description="leads created up to this ISO date"),
        owner: str | None = Field(None, description=OWNER),
        delay: float = Field(0.05, ge=0, le=10, description=DELAY),
        ctx: Context | None = None,
    ) -> PipelineReport:
        """For each stage: leads that reached it, the conversion to the next stage, and the open and
        weighted value sitting in it. Reports progress per stage; cancelling stops it."""
        condition, params = where_equal(("l.owner", owner))
        condition += " AND l.created_at BETWEEN ? AND ?"
        params += [created_from, created_to + "T23:59:59"]
        reached: dict[str, int] = {}
        report = []
        for done, (stage, _, probability) in enumerate(STAGES, start=1):
            reached[stage] = db.execute(
                f"""SELECT COUNT(DISTINCT l.id) FROM leads l JOIN stage_changes c ON c.lead_id = l.id
                    WHERE c.stage = ? AND {condition}""", (stage, *params)).fetchone()[0]
            open_value = db.execute(f"SELECT COALESCE(SUM(value), 0) FROM leads l WHERE l.stage = ? AND {condition}",
                                    (stage, *params)).fetchone()[0] if stage in OPEN_STAGES else 0.0
            report.append(StageRow(stage=stage, leads=reached[stage], conversion=None, open_value=round(open_value, 2),
                                   weighted_value=round(open_value * probability, 2)))
            if ctx is not None:
                await ctx.report_progress(done, len(STAGES), stage)
            await anyio.sleep(delay)  # a real CRM pages through its API; a cancel lands here
        for row, following in zip(report, report[1:5]):
            if row.stage in OPEN_STAGES and row.leads:
                row.conversion = round(following.leads / row.leads, 4)
        if ctx is not None:
            await ctx.info(f"pipeline report: {reached['new']} leads", logger_name="crm")
        return PipelineReport(created_from=created_from, created_to=created_to, owner=owner, rows=report)

    def ask_for_brief(organisation_id: int, ctx: Context) -> object:
        found = organisation(organisation_id)
        open_leads = rows(_LEAD_SQL + " WHERE l.organisation_id = ? ORDER BY l.updated_at DESC", organisation_id)
        lines = "\n".join(f"- {r['title']}: {r['stage']}, {r['value']:.0f}, owner {r['owner']}" for r in open_leads)
        return summary_request(ctx, f"Write a three-sentence account brief on {found.name} ({found.industry}, "
                                    f"{found.country}, {found.employees} employees) for a sales meeting:",
                               lines or "(no leads)")

    @mcp.tool(title="Account brief", annotations=READ_ONLY)
    async def account_brief(
        organisation_id: int,
        reply: Annotated[types.CreateMessageResult | None, Resolve(ask_for_brief)] = None,
    ) -> AccountBrief:
        """A short brief on an organisation, written by the client's model (sampling); the key figures
        when the client offers no sampling."""
        found = organisation(organisation_id)
        if reply is not None:
            return AccountBrief(organisation_id=organisation_id, brief=reply_text(reply), by=reply.model)
        return AccountBrief(organisation_id=organisation_id, by="figures",
                            brief=f"{found.name}: {found.contacts} contacts, {found.open_leads} open leads worth "
                                  f"{found.pipeline_value:,.0f}.")

    # -- resources ----------------------------------------------------------------------

    @mcp.resource("crm://stages", title="Pipeline stages", mime_type="application/json")
    def stages() -> str:
        """The pipeline's stages in order, with their win probabilities."""
        return json.dumps(rows("SELECT name, position, probability FROM stages ORDER BY position"))

    @mcp.resource("crm://playbook", title="Sales playbook", mime_type="text/markdown")
    def playbook() -> str:
        """What each stage means and when to move a lead."""
        return ("# Sales playbook\n\n- new: we know of the need.\n- qualified: budget, authority, need and timing "
                "checked.\n- proposal: a written offer went out.\n- negotiation: terms are discussed.\n"
                "- won / lost: closed. Log every call, email, meeting and demo.\n")

    @mcp.resource("crm://organisations/{organisation_id}", title="Organisation", mime_type="application/json")
    def organisation_resource(organisation_id: int) -> str:
        """One organisation with its figures, as JSON."""
        return organisation(organisation_id).model_dump_json()

    @mcp.resource("crm://contacts/{contact_id}", title="Contact", mime_type="application/json")
    def contact_resource(contact_id: int) -> str:
        """One contact, as JSON."""
        return contact(contact_id).model_dump_json()

    @mcp.resource("crm://leads/{lead_id}", title="Lead", mime_type="application/json")
    def lead_resource(lead_id: int) -> str:
        """One lead with its history and activities, as JSON."""
        return get_lead(lead_id).model_dump_json()

    # -- prompts and completions --------------------------------------------------------

    @mcp.prompt(title="Follow-up email")
    def follow_up(lead_id: str, tone: str = "friendly") -> str:
        """Ask a model to draft the next email on a lead."""
        found = get_lead(int(lead_id))
        last = found.activities[-1].notes if found.activities else "no contact yet"
        return (f"Draft a {tone} follow-up email for the lead '{found.title}' (stage {found.stage}, value "
                f"{found.value:.0f}). Last activity: {last}. Keep it under 120 words.")

    @mcp.prompt(title="Prepare a meeting")
    def meeting_prep(organisation_id: str) -> str:
        """Ask a model for questions to raise in a meeting with an organisation."""
        found = organisation(int(organisation_id))
        return (f"I meet {found.name} ({found.industry}, {found.country}) tomorrow; they have {found.open_leads} "
                f"open leads worth {found.pipeline_value:,.0f}. List five questions to ask.")

    @mcp.completion()
    async def complete(ref, argument, context):  # noqa: ANN001  (SDK callback signature)
        typed = argument.value or ""
        if not isinstance(ref, (PromptReference, ResourceTemplateReference)):
            return None
        if argument.name == "tone":
            return Completion(values=[t for t in TONES if t.startswith(typed)])
        table = {"lead_id": "leads", "organisation_id": "organisations", "contact_id": "contacts"}.get(argument.name)
        if table:
            return complete_ids(db, table, typed)
        return None

    def contacts_as_resources() -> list[types.Resource]:
        return [types.Resource(uri=f"crm://contacts/{r[0]}", name=f"contact-{r[0]}", title=r[1],
                               mime_type="application/json")
                for r in db.execute("SELECT id, name FROM contacts ORDER BY id")]

    paged_resources(mcp, contacts_as_resources)
    return mcp
