"""The helpdesk demo: an events and ticketing system with customer support.

What it stands in for: a box office that sells tickets to events and answers
customers' support enquiries. The data: venues, events, ticket types, orders
(thousands) and support enquiries, seeded deterministically.

The shape every demo system follows:

- ``NAME``, ``SCHEMA``, ``SCHEMA_VERSION``, ``seed(db)``: the data (see store.py);
- ``build(db) -> MCPServer``: tools with titles, descriptions, input and output
  schemas and honest annotations; resources and templates; prompts with
  completions; log messages on writes; progress on long work; elicitation to
  confirm what cannot be undone; sampling for summaries; roots for where files
  go; resource subscriptions (both eras) for records that change.
"""


import json
import random
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import unquote, urlparse

import anyio
import mcp_types as types
from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit, ListRoots, Resolve, Sample
from mcp_types import Completion, PromptReference, ResourceTemplateReference
from pydantic import BaseModel, Field

from .kit import (CREATES, DELAY, DESTROYS, FIRST_NAMES, LAST_NAMES, READ_ONLY, UPDATES, client_offers, complete_ids,
                  fetch_page, Missing, Notices, paged_resources, reply_text, require_confirmed, rows_of,
                  where_equal)

NAME = "helpdesk"
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE venues (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT NOT NULL, capacity INTEGER NOT NULL
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY, title TEXT NOT NULL, category TEXT NOT NULL,
    venue_id INTEGER NOT NULL REFERENCES venues(id), starts_at TEXT NOT NULL, status TEXT NOT NULL
);
CREATE TABLE ticket_types (
    id INTEGER PRIMARY KEY, event_id INTEGER NOT NULL REFERENCES events(id),
    name TEXT NOT NULL, price REAL NOT NULL, capacity INTEGER NOT NULL
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY, event_id INTEGER NOT NULL REFERENCES events(id),
    ticket_type_id INTEGER NOT NULL REFERENCES ticket_types(id),
    customer_name TEXT NOT NULL, customer_email TEXT NOT NULL, quantity INTEGER NOT NULL,
    total REAL NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL, refund_reason TEXT
);
CREATE TABLE enquiries (
    id INTEGER PRIMARY KEY, order_id INTEGER REFERENCES orders(id), customer_email TEXT NOT NULL,
    subject TEXT NOT NULL, body TEXT NOT NULL, category TEXT NOT NULL, priority TEXT NOT NULL,
    status TEXT NOT NULL, assignee TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE INDEX orders_event ON orders(event_id);
CREATE INDEX orders_email ON orders(customer_email);
CREATE INDEX enquiries_status ON enquiries(status, priority)
"""

# The seed's fixed clock: data looks the same whenever and wherever it is made.
EPOCH = datetime(2026, 1, 5, 9, 0, 0)
NOW = datetime(2026, 11, 1, 12, 0, 0)

CATEGORIES = ("concert", "conference", "theatre", "sport", "workshop")
PRIORITIES = ("low", "normal", "high", "urgent")
STATUSES = ("open", "pending", "resolved")
ENQUIRY_CATEGORIES = ("refund", "access", "payment", "delivery", "general")
TEAM = ("amira", "bogdan", "chloe", "dev", "elena")

# What each choice means, said once for every tool that takes it: a model reads descriptions, not code.
EVENT_CATEGORY = "the kind of event: concert, conference, theatre, sport or workshop"
ENQUIRY_STATUS = "open: waiting on us; pending: waiting on the customer's reply; resolved: closed"
ENQUIRY_PRIORITY = "how soon to answer: urgent first, then high, normal, low"
ENQUIRY_CATEGORY = ("refund, access (e-tickets, getting in), payment (charges, invoices), delivery (tickets "
                    "or emails not received) or general")
ASSIGNEE = "a team member, e.g. " + ", ".join(TEAM)


class Event(BaseModel):
    id: int
    title: str
    category: str
    venue: str
    city: str
    starts_at: str = Field(description="ISO 8601 start time")
    status: str


class TicketType(BaseModel):
    id: int
    name: str
    price: float
    capacity: int
    sold: int


class EventDetail(Event):
    ticket_types: list[TicketType]
    revenue: float


class Order(BaseModel):
    id: int
    event_id: int
    event: str
    ticket_type: str
    customer_name: str
    customer_email: str
    quantity: int
    total: float
    status: str
    created_at: str
    refund_reason: str | None = None


class Enquiry(BaseModel):
    id: int
    order_id: int | None
    customer_email: str
    subject: str
    body: str
    category: str
    priority: str
    status: str
    assignee: str | None
    created_at: str
    updated_at: str


class EventPage(BaseModel):
    events: list[Event]
    total: int = Field(description="matches in all, beyond this page")
    next_offset: int | None = Field(description="offset of the next page, or null on the last")


class OrderPage(BaseModel):
    orders: list[Order]
    total: int
    next_offset: int | None


class EnquiryPage(BaseModel):
    enquiries: list[Enquiry]
    total: int
    next_offset: int | None


class SalesRow(BaseModel):
    group: str
    orders: int
    tickets: int
    revenue: float
    refunded: float


class SalesReport(BaseModel):
    group_by: str
    rows: list[SalesRow]


class RefundConfirmation(BaseModel):
    confirm: bool = Field(True, description="Refund it (this cannot be undone)")
    reason_for_customer: str = Field("", description="A note for the customer's email (optional)")


class Summary(BaseModel):
    enquiry_id: int
    summary: str
    by: str = Field(description="the model that wrote it, or 'first sentence' when the client cannot sample")


class Export(BaseModel):
    path: str
    rows: int


# -- seed -------------------------------------------------------------------------------

_VENUES = [
    ("Harbour Hall", "Lisbon", 2400), ("The Foundry", "Manchester", 900), ("Stadtgarten", "Cologne", 1500),
    ("Arena Norte", "Porto", 8000), ("Kulturhuset", "Oslo", 600), ("Palau Verd", "Barcelona", 3200),
    ("Riverside Theatre", "Dublin", 750), ("Expo Centre", "Utrecht", 5000), ("Salle Lumière", "Lyon", 1100),
    ("Warehouse 9", "Tallinn", 450), ("Teatro Nuovo", "Turin", 980), ("Glasshouse", "Leeds", 1300),
]
_TITLES = {
    "concert": ["Midnight Brass", "Northern Strings", "Jazz at the Docks", "Synth Summer", "Choir of Lights",
                "Folk Revival", "Piano Nights", "Electric Tide"],
    "conference": ["DataOps Summit", "Open Source Days", "Product Leaders Forum", "Cloud Native Week",
                   "AI in Practice", "Security Now"],
    "theatre": ["The Glass Orchard", "Hamlet Reimagined", "A Winter's Ledger", "Comedy of Clocks", "The Long Table"],
    "sport": ["City Derby", "Indoor Athletics Cup", "Basketball Finals", "Climbing Open", "Fencing Masters"],
    "workshop": ["Intro to Pottery", "Analytics with SQL", "Street Photography", "Sourdough Basics", "Podcasting 101"],
}
_TICKETS = [("Standard", 1.0, 0.6), ("Early bird", 0.8, 0.15), ("VIP", 2.5, 0.05), ("Student", 0.6, 0.1),
            ("Group (5+)", 0.85, 0.1)]
_SUBJECTS = {
    "refund": ["Refund request for order #{o}", "Can I get my money back? (order {o})", "Event moved, want refund"],
    "access": ["Tickets not showing in app", "Wheelchair access at the venue", "Lost my e-ticket for order {o}"],
    "payment": ["Charged twice for order {o}", "Card declined but money taken", "Invoice needed for order {o}"],
    "delivery": ["Tickets never arrived", "Wrong name on tickets (order {o})", "Resend confirmation email"],
    "general": ["Parking near the venue?", "Can I bring a camera?", "Age limit question", "Group booking options"],
}


def seed(db: sqlite3.Connection) -> None:
    """Fill an empty database with the same rows every time."""
    rng = random.Random(20260105)
    db.executemany("INSERT INTO venues(id, name, city, capacity) VALUES (?, ?, ?, ?)",
                   [(i + 1, *venue) for i, venue in enumerate(_VENUES)])
    events, ticket_types = [], []
    for event_id in range(1, 61):
        category = rng.choice(CATEGORIES)
        title = rng.choice(_TITLES[category]) + (f" {2026}" if category == "conference" else "")
        venue_id = rng.randint(1, len(_VENUES))
        starts = EPOCH + timedelta(days=event_id * 6 + rng.randint(0, 4), hours=rng.choice([0, 2, 4, 10]))
        status = "cancelled" if rng.random() < 0.05 else ("completed" if starts < NOW else "scheduled")
        events.append((event_id, title, category, venue_id, starts.isoformat(), status))
        base = rng.choice([15, 25, 35, 45, 60, 90, 150])
        capacity = _VENUES[venue_id - 1][2]
        for name, factor, share in rng.sample(_TICKETS, rng.randint(2, 4)):
            ticket_types.append((len(ticket_types) + 1, event_id, name, round(base * factor, 2),
                                 max(20, int(capacity * share))))
    db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", events)
    db.executemany("INSERT INTO ticket_types VALUES (?, ?, ?, ?, ?)", ticket_types)

    by_event: dict[int, list[tuple]] = {}
    for row in ticket_types:
        by_event.setdefault(row[1], []).append(row)
    popularity = [rng.paretovariate(1.5) for _ in events]
    orders = []
    for order_id in range(1, 8001):
        event = rng.choices(events, weights=popularity)[0]
        ticket = rng.choice(by_event[event[0]])
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}{rng.randint(1, 99)}@example.com".lower().replace("'", "")
        quantity = rng.choices([1, 2, 3, 4, 6], weights=[30, 45, 10, 10, 5])[0]
        starts = datetime.fromisoformat(event[4])
        created = starts - timedelta(days=rng.randint(1, 120), minutes=rng.randint(0, 1439))
        roll = rng.random()
        status = "refunded" if roll < 0.06 or event[5] == "cancelled" else ("cancelled" if roll < 0.1 else "paid")
        reason = "event cancelled" if event[5] == "cancelled" else ("customer request" if status == "refunded" else None)
        orders.append((order_id, event[0], ticket[0], f"{first} {last}", email, quantity,
                       round(ticket[3] * quantity, 2), status, created.isoformat(timespec="seconds"), reason))
    db.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", orders)

    enquiries = []
    for enquiry_id in range(1, 2501):
        order = rng.choice(orders) if rng.random() < 0.75 else None
        category = rng.choices(ENQUIRY_CATEGORIES, weights=[30, 20, 20, 15, 15])[0]
        subject = rng.choice(_SUBJECTS[category]).format(o=order[0] if order else "?")
        email = order[4] if order else f"{rng.choice(FIRST_NAMES)}{rng.randint(1, 999)}@example.org".lower()
        created = NOW - timedelta(days=rng.randint(0, 300), minutes=rng.randint(0, 1439))
        age_days = (NOW - created).days
        status = "resolved" if age_days > 30 and rng.random() < 0.92 else rng.choices(STATUSES, weights=[5, 3, 4])[0]
        priority = rng.choices(PRIORITIES, weights=[20, 50, 22, 8])[0]
        updated = min(NOW, created + timedelta(hours=rng.randint(1, 24 * 14)))
        assignee = rng.choice(TEAM) if status != "open" or rng.random() < 0.4 else None
        body = f"Hello, {subject.lower()}. " + rng.choice([
            "Please help as soon as you can.", "Thanks in advance.", "This is the second time I write.",
            "I bought these as a gift.", "Could you call me back?"])
        enquiries.append((enquiry_id, order[0] if order else None, email, subject, body, category, priority,
                          status, assignee, created.isoformat(timespec="seconds"),
                          updated.isoformat(timespec="seconds")))
    db.executemany("INSERT INTO enquiries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", enquiries)


# -- the server -------------------------------------------------------------------------


_EVENT_SQL = """SELECT e.id, e.title, e.category, v.name AS venue, v.city, e.starts_at, e.status
                FROM events e JOIN venues v ON v.id = e.venue_id"""
_ORDER_SQL = """SELECT o.id, o.event_id, e.title AS event, t.name AS ticket_type, o.customer_name,
                       o.customer_email, o.quantity, o.total, o.status, o.created_at, o.refund_reason
                FROM orders o JOIN events e ON e.id = o.event_id JOIN ticket_types t ON t.id = o.ticket_type_id"""


def build(db: sqlite3.Connection) -> MCPServer:
    """The helpdesk MCP server over ``db``."""
    mcp = MCPServer(
        "helpdesk",
        title="Helpdesk (demo)",
        version="1.0",
        instructions=(
            "A box office: events, ticket types, orders and customer support enquiries. "
            "Search events, look up orders, triage enquiries and issue refunds. "
            "All data is made up."
        ),
    )

    notices = Notices(mcp)

    def rows(sql: str, *params: object) -> list[dict]:
        return rows_of(db, sql, *params)

    def enquiry(enquiry_id: int) -> Enquiry:
        found = rows("SELECT * FROM enquiries WHERE id = ?", enquiry_id)
        if not found:
            raise Missing(f"There is no enquiry {enquiry_id}.")
        return Enquiry(**found[0])

    def order(order_id: int) -> Order:
        found = rows(_ORDER_SQL + " WHERE o.id = ?", order_id)
        if not found:
            raise Missing(f"There is no order {order_id}.")
        return Order(**found[0])

    @mcp.tool(title="Search events", annotations=READ_ONLY)
    def search_events(
        query: str = Field("", description="words in the title; empty for all"),
        category: Literal["concert", "conference", "theatre", "sport", "workshop"] | None = Field(
            None, description=EVENT_CATEGORY),
        city: str | None = Field(None, description="the venue's city, e.g. Lisbon"),
        starts_after: str | None = Field(None, description="ISO date, e.g. 2026-06-01"),
        starts_before: str | None = Field(None, description="ISO date"),
        limit: int = Field(50, ge=1, le=500),
        offset: int = Field(0, ge=0),
    ) -> EventPage:
        """Find events by title words, category, city and date range, soonest first."""
        where, params = ["1=1"], []
        for word in query.split():
            where.append("e.title LIKE ?")
            params.append(f"%{word}%")
        for column, value in (("e.category", category), ("v.city", city)):
            if value:
                where.append(f"{column} = ? COLLATE NOCASE")
                params.append(value)
        if starts_after:
            where.append("e.starts_at >= ?")
            params.append(starts_after)
        if starts_before:
            where.append("e.starts_at < ?")
            params.append(starts_before)
        condition = " AND ".join(where)
        found, paging = fetch_page(db, "events e JOIN venues v ON v.id = e.venue_id", _EVENT_SQL, condition, params,
                                   "e.starts_at", limit, offset)
        return EventPage(events=[Event(**r) for r in found], **paging)

    @mcp.tool(title="Get event", annotations=READ_ONLY)
    def get_event(event_id: int) -> EventDetail:
        """One event with its ticket types, tickets sold and revenue so far."""
        found = rows(_EVENT_SQL + " WHERE e.id = ?", event_id)
        if not found:
            raise Missing(f"There is no event {event_id}.")
        tickets = rows(
            """SELECT t.id, t.name, t.price, t.capacity,
                      COALESCE(SUM(CASE WHEN o.status = 'paid' THEN o.quantity END), 0) AS sold
               FROM ticket_types t LEFT JOIN orders o ON o.ticket_type_id = t.id
               WHERE t.event_id = ? GROUP BY t.id ORDER BY t.price""", event_id)
        revenue = db.execute("SELECT COALESCE(SUM(total), 0) FROM orders WHERE event_id = ? AND status = 'paid'",
                             (event_id,)).fetchone()[0]
        return EventDetail(**found[0], ticket_types=[TicketType(**t) for t in tickets], revenue=round(revenue, 2))

    @mcp.tool(title="List orders", annotations=READ_ONLY)
    def list_orders(
        event_id: int | None = None,
        status: Literal["paid", "refunded", "cancelled"] | None = Field(
            None, description="paid: tickets valid; refunded: money returned, tickets void; cancelled: called off "
                              "unpaid"),
        customer_email: str | None = Field(None, description="the buyer's exact email address"),
        limit: int = Field(100, ge=1, le=5000),
        offset: int = Field(0, ge=0),
    ) -> OrderPage:
        """Orders, newest first, filtered by event, status or customer email."""
        condition, params = where_equal(("o.event_id", event_id), ("o.status", status),
                                   ("o.customer_email", customer_email))
        found, paging = fetch_page(db, "orders o", _ORDER_SQL, condition, params, "o.created_at DESC, o.id", limit,
                                   offset)
        return OrderPage(orders=[Order(**r) for r in found], **paging)

    @mcp.tool(title="Get order", annotations=READ_ONLY)
    def get_order(order_id: int) -> Order:
        """One order by its number."""
        return order(order_id)

    @mcp.tool(title="List support enquiries", annotations=READ_ONLY)
    def list_enquiries(
        status: Literal["open", "pending", "resolved"] | None = Field(None, description=ENQUIRY_STATUS),
        priority: Literal["low", "normal", "high", "urgent"] | None = Field(None, description=ENQUIRY_PRIORITY),
        category: Literal["refund", "access", "payment", "delivery", "general"] | None = Field(
            None, description=ENQUIRY_CATEGORY),
        assignee: str | None = Field(None, description=ASSIGNEE),
        limit: int = Field(100, ge=1, le=5000),
        offset: int = Field(0, ge=0),
    ) -> EnquiryPage:
        """Support enquiries, newest first, filtered by status, priority, category or assignee."""
        condition, params = where_equal(("status", status), ("priority", priority), ("category", category),
                                   ("assignee", assignee))
        found, paging = fetch_page(db, "enquiries", "SELECT * FROM enquiries", condition, params, "created_at DESC, id",
                                   limit, offset)
        return EnquiryPage(enquiries=[Enquiry(**r) for r in found], **paging)

    @mcp.tool(title="Open a support enquiry",
              annotations=CREATES)
    async def create_enquiry(
        subject: str = Field(min_length=3, max_length=200, description="a one-line summary, 3 to 200 characters"),
        body: str = Field(min_length=1, description="the customer's message, in their words"),
        customer_email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", description="the customer's email address"),
        category: Literal["refund", "access", "payment", "delivery", "general"] = Field(
            "general", description=ENQUIRY_CATEGORY),
        priority: Literal["low", "normal", "high", "urgent"] = Field("normal", description=ENQUIRY_PRIORITY),
        order_id: int | None = Field(None, description="the order it is about, if any"),
        ctx: Context | None = None,
    ) -> Enquiry:
        """Record a new enquiry from a customer; it starts open and unassigned."""
        if order_id is not None:
            order(order_id)
        now = datetime.now().isoformat(timespec="seconds")
        cursor = db.execute(
            """INSERT INTO enquiries(order_id, customer_email, subject, body, category, priority, status,
                                     assignee, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, 'open', NULL, ?, ?)""",
            (order_id, customer_email, subject, body, category, priority, now, now))
        if ctx is not None:
            await ctx.info(f"enquiry {cursor.lastrowid} opened ({priority})", logger_name="helpdesk")
            await notices.resources_changed(ctx)  # open enquiries are listed as resources
        return enquiry(cursor.lastrowid)

    @mcp.tool(title="Update a support enquiry",
              annotations=UPDATES)
    async def update_enquiry(
        enquiry_id: int,
        status: Literal["open", "pending", "resolved"] | None = Field(None, description=ENQUIRY_STATUS),
        priority: Literal["low", "normal", "high", "urgent"] | None = Field(None, description=ENQUIRY_PRIORITY),
        assignee: str | None = Field(None, description=ASSIGNEE),
        ctx: Context | None = None,
    ) -> Enquiry:
        """Change an enquiry's status, priority or assignee; unchanged fields are left alone."""
        before = enquiry(enquiry_id)
        changes = {k: v for k, v in (("status", status), ("priority", priority), ("assignee", assignee))
                   if v is not None}
        if changes:
            sets = ", ".join(f"{k} = ?" for k in changes)
            db.execute(f"UPDATE enquiries SET {sets}, updated_at = ? WHERE id = ?",
                       (*changes.values(), datetime.now().isoformat(timespec="seconds"), enquiry_id))
            if ctx is not None:
                await ctx.info(f"enquiry {enquiry_id} updated: {changes}", logger_name="helpdesk")
                await notices.updated(ctx, f"helpdesk://enquiries/{enquiry_id}")
                if status is not None and (status == "resolved") != (before.status == "resolved"):
                    await notices.resources_changed(ctx)  # it joins or leaves the listed open ones
        return enquiry(enquiry_id)

    def confirm_refund(order_id: int, ctx: Context) -> object:
        """Ask the person to confirm, where the client can ask (elicitation); else go ahead."""
        current = order(order_id)
        if not client_offers(ctx, "elicitation") or current.status != "paid":
            return RefundConfirmation()  # a plain value: the SDK hands it over as accepted
        return Elicit(f"Refund order {order_id}: {current.quantity} x {current.ticket_type} for "
                      f"{current.event}, {current.total:.2f} to {current.customer_name}? "
                      "This cannot be undone.", RefundConfirmation)

    @mcp.tool(title="Refund an order",
              annotations=DESTROYS)
    async def refund_order(
        order_id: int,
        reason: str = Field(min_length=3, description="why, for the staff (kept on the order, not sent to the "
                                                      "customer); 3 characters or more"),
        confirmation: Annotated[ElicitationResult[RefundConfirmation], Resolve(confirm_refund)] = None,
        ctx: Context | None = None,
    ) -> Order:
        """Refund a paid order in full. The tickets are voided; this cannot be undone, so the
        person is asked to confirm first."""
        current = order(order_id)
        if current.status == "refunded":
            return current
        if current.status != "paid":
            raise ToolError(f"Order {order_id} is {current.status}; only paid orders can be refunded.")
        require_confirmed(confirmation, f"Order {order_id} was not refunded")
        db.execute("UPDATE orders SET status = 'refunded', refund_reason = ? WHERE id = ?", (reason, order_id))
        if ctx is not None:
            await ctx.warning(f"order {order_id} refunded ({current.total:.2f}): {reason}", logger_name="helpdesk")
            await notices.updated(ctx, f"helpdesk://orders/{order_id}")
        return order(order_id)

    def ask_for_summary(enquiry_id: int, ctx: Context) -> object:
        found = enquiry(enquiry_id)
        if not client_offers(ctx, "sampling"):
            return None
        text = f"Subject: {found.subject}\n\n{found.body}"
        return Sample([types.SamplingMessage(role="user", content=types.TextContent(
                          type="text", text="Summarise this customer enquiry in one sentence:\n\n" + text))],
                      max_tokens=120, system_prompt="You are a concise support lead.",
                      model_preferences=types.ModelPreferences(intelligence_priority=0.3, speed_priority=0.8))

    @mcp.tool(title="Summarise an enquiry", annotations=READ_ONLY)
    async def summarise_enquiry(
        enquiry_id: int,
        reply: Annotated[types.CreateMessageResult | None, Resolve(ask_for_summary)] = None,
    ) -> Summary:
        """A one-sentence summary of an enquiry, written by the client's model (sampling);
        the enquiry's first sentence when the client offers no sampling."""
        found = enquiry(enquiry_id)
        if reply is None:
            return Summary(enquiry_id=enquiry_id, summary=found.body.split(". ")[0].strip(), by="first sentence")
        return Summary(enquiry_id=enquiry_id, summary=reply_text(reply), by=reply.model)

    def client_roots(ctx: Context) -> object:
        if not client_offers(ctx, "roots"):
            return types.ListRootsResult(roots=[])
        return ListRoots()

    @mcp.tool(title="Export an event's orders",
              annotations=UPDATES)
    async def export_orders(
        event_id: int,
        filename: str = Field("orders.csv", pattern=r"^[\w.-]+\.csv$", description="a file name, no folders"),
        roots: Annotated[types.ListRootsResult, Resolve(client_roots)] = None,
    ) -> Export:
        """Write an event's orders as CSV into the client's first root (its working folder)."""
        get_event(event_id)
        folders = [urlparse(str(r.uri)) for r in (roots.roots if roots else [])]
        folders = [Path(unquote(u.path)) for u in folders if u.scheme == "file"]
        if not folders:
            raise ToolError("The client offers no file:// roots to export into.")
        path = folders[0] / filename
        found = rows(_ORDER_SQL + " WHERE o.event_id = ? ORDER BY o.id", event_id)
        import csv

        with path.open("w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=list(Order.model_fields))
            writer.writeheader()
            writer.writerows(found)
        return Export(path=str(path), rows=len(found))

    @mcp.tool(title="Sales report", annotations=READ_ONLY)
    async def sales_report(
        group_by: Literal["event", "category", "city", "month"] = Field(
            "category", description="one row per event, event category, venue city, or month the order was placed"),
        delay: float = Field(0.04, ge=0, le=10, description=DELAY),
        ctx: Context | None = None,
    ) -> SalesReport:
        """Orders, tickets, revenue and refunds, grouped; reports progress as it goes."""
        key = {"event": "e.title", "category": "e.category", "city": "v.city",
               "month": "substr(o.created_at, 1, 7)"}[group_by]
        groups = [r[0] for r in db.execute(
            f"SELECT DISTINCT {key} FROM orders o JOIN events e ON e.id = o.event_id "
            f"JOIN venues v ON v.id = e.venue_id ORDER BY 1")]
        report = []
        for done, group in enumerate(groups, start=1):
            row = db.execute(
                f"""SELECT COUNT(*), COALESCE(SUM(CASE WHEN o.status='paid' THEN o.quantity END), 0),
                           COALESCE(SUM(CASE WHEN o.status='paid' THEN o.total END), 0),
                           COALESCE(SUM(CASE WHEN o.status='refunded' THEN o.total END), 0)
                    FROM orders o JOIN events e ON e.id = o.event_id JOIN venues v ON v.id = e.venue_id
                    WHERE {key} = ?""", (group,)).fetchone()
            report.append(SalesRow(group=str(group), orders=row[0], tickets=row[1], revenue=round(row[2], 2),
                                   refunded=round(row[3], 2)))
            if ctx is not None:
                await ctx.report_progress(done, len(groups), f"{group_by} {done}/{len(groups)}")
            await anyio.sleep(delay)  # a real box office pages through its API; a cancel lands here
        if ctx is not None:
            await ctx.info(f"sales report by {group_by}: {len(report)} rows", logger_name="helpdesk")
        return SalesReport(group_by=group_by, rows=report)

    # -- resources ----------------------------------------------------------------------

    @mcp.resource("helpdesk://policies/refunds", title="Refund policy", mime_type="text/markdown")
    def refund_policy() -> str:
        """The box office's refund policy."""
        return ("# Refund policy\n\n- Cancelled events: full refund, automatically.\n"
                "- Otherwise: full refund up to 14 days before the event, none after.\n"
                "- Refunds go back to the original payment method within 5 working days.\n")

    @mcp.resource("helpdesk://venues", title="Venues", mime_type="application/json")
    def venues() -> str:
        """Every venue with its city and capacity."""
        return json.dumps(rows("SELECT * FROM venues ORDER BY id"))

    @mcp.resource("helpdesk://events/{event_id}", title="Event", mime_type="application/json")
    def event_resource(event_id: int) -> str:
        """One event with its ticket types, as JSON."""
        return get_event(event_id).model_dump_json()

    @mcp.resource("helpdesk://orders/{order_id}", title="Order", mime_type="application/json")
    def order_resource(order_id: int) -> str:
        """One order, as JSON."""
        return order(order_id).model_dump_json()

    @mcp.resource("helpdesk://enquiries/{enquiry_id}", title="Support enquiry", mime_type="application/json")
    def enquiry_resource(enquiry_id: int) -> str:
        """One support enquiry, as JSON."""
        return enquiry(enquiry_id).model_dump_json()

    def open_enquiries() -> list[types.Resource]:
        return [types.Resource(uri=f"helpdesk://enquiries/{r[0]}", name=f"enquiry-{r[0]}", title=r[1],
                               mime_type="application/json")
                for r in db.execute("SELECT id, subject FROM enquiries WHERE status != 'resolved' ORDER BY id")]

    paged_resources(mcp, open_enquiries)

    # -- prompts and completions --------------------------------------------------------

    @mcp.prompt(title="Triage an enquiry")
    def triage_enquiry(enquiry_id: str) -> str:
        """Ask a model to classify an enquiry and propose the next step."""
        found = enquiry(int(enquiry_id))
        return (f"You are a support lead at a box office. Triage this enquiry: say its real category, "
                f"a priority (low/normal/high/urgent) and the next step.\n\nSubject: {found.subject}\n"
                f"From: {found.customer_email}\nOrder: {found.order_id or 'none'}\n\n{found.body}")

    @mcp.prompt(title="Draft a reply")
    def draft_reply(enquiry_id: str, tone: str = "friendly") -> str:
        """Ask a model to draft a reply to an enquiry in a given tone."""
        found = enquiry(int(enquiry_id))
        return (f"Draft a {tone} reply to this customer, under 120 words, following the refund policy "
                f"(helpdesk://policies/refunds).\n\nSubject: {found.subject}\n\n{found.body}")

    @mcp.completion()
    async def complete(ref, argument, context):  # noqa: ANN001  (SDK callback signature)
        typed = argument.value or ""
        if isinstance(ref, PromptReference) and argument.name == "tone":
            options = ["friendly", "formal", "apologetic", "brief"]
            return Completion(values=[t for t in options if t.startswith(typed)])
        column = {"enquiry_id": ("enquiries", "status != 'resolved'"), "order_id": ("orders", "1=1"),
                  "event_id": ("events", "1=1")}.get(argument.name)
        if column and isinstance(ref, (PromptReference, ResourceTemplateReference)):
            table, condition = column
            return complete_ids(db, table, typed, where=condition, newest_first=True)
        return None

    return mcp
