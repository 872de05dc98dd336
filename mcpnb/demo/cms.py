"""The cms demo: a content management system.

What it stands in for: a website's CMS with a content tree of sections, pages
(thousands, each with its saved versions), and a media library. The data is
seeded deterministically (see store.py); every page is also a resource, so the
resource list comes in pages (cursor pagination).

Protocol features shown: tools with structured output and honest annotations;
resources, templates and a paged resource list; prompts with completions; log
messages on writes; progress and cancellation in the freshness audit;
elicitation before a page is deleted; sampling for a page summary; resource
updates and list changes in both eras.
"""


import json
import random
import re
import sqlite3
from datetime import datetime, timedelta
from typing import Annotated, Literal

import anyio
import mcp_types as types
from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Resolve
from mcp_types import Completion, PromptReference, ResourceTemplateReference
from pydantic import BaseModel, Field

from .kit import (CREATES, DELAY, DESTROYS, READ_ONLY, UPDATES, complete_ids, confirm, fetch_page, Missing, Notices,
                  paged_resources, reply_text, require_confirmed, rows_of, summary_request, where_equal)

NAME = "cms"
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE sections (
    id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES sections(id), slug TEXT NOT NULL,
    path TEXT NOT NULL UNIQUE, title TEXT NOT NULL
);
CREATE TABLE pages (
    id INTEGER PRIMARY KEY, section_id INTEGER NOT NULL REFERENCES sections(id), slug TEXT NOT NULL,
    title TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL, author TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, published_at TEXT, version INTEGER NOT NULL
);
CREATE TABLE versions (
    page_id INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE, version INTEGER NOT NULL,
    title TEXT NOT NULL, body TEXT NOT NULL, author TEXT NOT NULL, saved_at TEXT NOT NULL, note TEXT NOT NULL,
    PRIMARY KEY (page_id, version)
);
CREATE TABLE media (
    id INTEGER PRIMARY KEY, filename TEXT NOT NULL, mime_type TEXT NOT NULL, size_bytes INTEGER NOT NULL,
    alt_text TEXT, uploaded_at TEXT NOT NULL, page_id INTEGER REFERENCES pages(id) ON DELETE SET NULL
);
CREATE INDEX pages_section ON pages(section_id, status);
CREATE INDEX pages_updated ON pages(updated_at);
CREATE INDEX media_page ON media(page_id)
"""

EPOCH = datetime(2023, 3, 1, 9, 0, 0)
NOW = datetime(2026, 11, 1, 12, 0, 0)
STATUSES = ("draft", "published", "archived")
EDITORS = ("amira", "bogdan", "chloe", "dev", "elena", "farah", "gus")
TONES = ("plain", "friendly", "formal", "playful")

# What a parameter means, said once for every tool that takes it: a model reads descriptions, not code.
PAGE_STATUS = "draft: not live yet; published: live; archived: off the site, kept"

_TREE = {
    "about": ["team", "history", "careers", "press"],
    "products": ["analytics", "billing", "integrations", "mobile"],
    "docs": ["getting-started", "guides", "api", "faq"],
    "blog": ["engineering", "product-news", "customers", "events"],
    "support": ["status", "contact", "policies"],
}
_TOPICS = ["pricing", "onboarding", "dashboards", "exports", "single sign-on", "webhooks", "audit logs",
           "data retention", "accessibility", "mobile app", "release notes", "case study", "roadmap",
           "security", "performance", "migrations", "reporting", "teams", "permissions", "invoices"]
_VERBS = ["How to use", "Getting the most from", "What's new in", "A guide to", "Understanding",
          "Troubleshooting", "Five tips for", "Introducing", "Planning", "Measuring"]
_SENTENCES = [
    "This page explains the essentials and links to the detailed reference.",
    "Teams that adopt it early report fewer support tickets in the first month.",
    "Every step below can be done from the web app or through the API.",
    "If something looks wrong, check the status page before contacting support.",
    "The screenshots show the current version of the interface.",
    "Administrators can change these settings for the whole organisation.",
    "We update this page whenever the product changes.",
    "Customers on the legacy plan may see slightly different options.",
]


class Section(BaseModel):
    id: int
    parent_id: int | None
    path: str = Field(description="the section's place in the tree, e.g. /docs/api")
    title: str
    pages: int = Field(description="pages directly in this section")
    published: int


class ContentTree(BaseModel):
    sections: list[Section]


class PageSummary(BaseModel):
    id: int
    section: str = Field(description="the section's path")
    slug: str
    title: str
    status: str
    author: str
    updated_at: str
    published_at: str | None
    version: int
    words: int


class Page(PageSummary):
    body: str = Field(description="Markdown")
    media: list[int] = Field(description="ids of the media items used on the page")


class PageList(BaseModel):
    pages: list[PageSummary]
    total: int = Field(description="matches in all, beyond this page")
    next_offset: int | None = Field(description="offset of the next page, or null on the last")


class Version(BaseModel):
    version: int
    title: str
    author: str
    saved_at: str
    note: str
    words: int


class VersionList(BaseModel):
    page_id: int
    versions: list[Version]


class MediaItem(BaseModel):
    id: int
    filename: str
    mime_type: str
    size_bytes: int
    alt_text: str | None
    uploaded_at: str
    page_id: int | None


class MediaList(BaseModel):
    media: list[MediaItem]
    total: int
    next_offset: int | None


class FreshnessRow(BaseModel):
    section: str
    published: int
    stale: int = Field(description="published pages not updated within the threshold")
    oldest_update: str | None
    missing_alt_text: int = Field(description="images on the section's pages without alt text")


class FreshnessAudit(BaseModel):
    stale_after_days: int
    as_of: str
    rows: list[FreshnessRow]


class DeleteConfirmation(BaseModel):
    confirm: bool = Field(True, description="Delete the page and all its versions (this cannot be undone)")


class Deleted(BaseModel):
    page_id: int
    title: str
    versions_removed: int


class PageDigest(BaseModel):
    page_id: int
    summary: str
    by: str = Field(description="the model that wrote it, or 'first sentences' when the client cannot sample")


# -- seed -------------------------------------------------------------------------------


def seed(db: sqlite3.Connection) -> None:
    """Fill an empty database with the same rows every time."""
    rng = random.Random(20230301)
    sections = []
    for top, children in _TREE.items():
        top_id = len(sections) + 1
        sections.append((top_id, None, top, f"/{top}", top.replace("-", " ").title()))
        for child in children:
            sections.append((len(sections) + 1, top_id, child, f"/{top}/{child}", child.replace("-", " ").title()))
    db.executemany("INSERT INTO sections VALUES (?, ?, ?, ?, ?)", sections)

    pages, versions, media = [], [], []
    for page_id in range(1, 3201):
        section = rng.choice(sections[1:] if rng.random() < 0.9 else sections)
        topic = rng.choice(_TOPICS)
        title = f"{rng.choice(_VERBS)} {topic}"
        slug = f"{title.lower().replace(' ', '-').replace(chr(39), '')}-{page_id}"
        created = EPOCH + timedelta(days=rng.randint(0, 1250), minutes=rng.randint(0, 1439))
        count = rng.choices([1, 2, 3, 4, 6, 9], weights=[25, 30, 20, 12, 8, 5])[0]
        saved = created
        author = rng.choice(EDITORS)
        for version in range(1, count + 1):
            if version > 1:
                saved = min(NOW, saved + timedelta(days=rng.randint(1, 200), minutes=rng.randint(0, 1439)))
            paragraphs = rng.randint(2, 6)
            body = f"# {title}\n\n" + "\n\n".join(
                " ".join(rng.sample(_SENTENCES, rng.randint(2, 4))) for _ in range(paragraphs))
            editor = author if version == 1 else rng.choice(EDITORS)
            note = "first draft" if version == 1 else rng.choice(
                ["typos", "new screenshots", "rewrote the intro", "updated for the new release", "links fixed"])
            versions.append((page_id, version, title, body, editor, saved.isoformat(timespec="seconds"), note))
        roll = rng.random()
        status = "draft" if roll < 0.12 else ("archived" if roll < 0.2 else "published")
        published = None
        if status != "draft":
            published = (created + timedelta(days=rng.randint(0, 10))).isoformat(timespec="seconds")
        pages.append((page_id, section[0], slug, title, versions[-1][3], status, author,
                      created.isoformat(timespec="seconds"), versions[-1][5], published, count))
        for _ in range(rng.choices([0, 1, 2, 3], weights=[40, 35, 15, 10])[0]):
            kind = rng.choices(["image/png", "image/jpeg", "application/pdf", "video/mp4"], weights=[45, 35, 15, 5])[0]
            extension = {"image/png": "png", "image/jpeg": "jpg", "application/pdf": "pdf", "video/mp4": "mp4"}[kind]
            alt = None if kind.startswith("image") and rng.random() < 0.25 else f"{topic} illustration"
            media.append((len(media) + 1, f"{topic.replace(' ', '-')}-{len(media) + 1}.{extension}", kind,
                          rng.randint(20_000, 8_000_000), alt if kind.startswith("image") else None,
                          created.isoformat(timespec="seconds"), page_id))
    for _ in range(300):  # uploaded and never used
        media.append((len(media) + 1, f"upload-{len(media) + 1}.png", "image/png", rng.randint(20_000, 3_000_000),
                      None, (EPOCH + timedelta(days=rng.randint(0, 1300))).isoformat(timespec="seconds"), None))
    db.executemany("INSERT INTO pages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", pages)
    db.executemany("INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?)", versions)
    db.executemany("INSERT INTO media VALUES (?, ?, ?, ?, ?, ?, ?)", media)


# -- the server -------------------------------------------------------------------------

_PAGE_SQL = """SELECT p.id, s.path AS section, p.slug, p.title, p.status, p.author, p.updated_at, p.published_at,
                      p.version, p.body FROM pages p JOIN sections s ON s.id = p.section_id"""


def _words(text: str) -> int:
    return len(text.split())


def build(db: sqlite3.Connection) -> MCPServer:
    """The cms MCP server over ``db``."""
    mcp = MCPServer(
        "cms",
        title="CMS (demo)",
        version="1.0",
        instructions=(
            "A website's content management system: a tree of sections, pages with saved versions, "
            "and a media library. Search and read pages, save and publish them, audit freshness. "
            "Every page is also a resource (cms://pages/{id}). All data is made up."
        ),
    )
    notices = Notices(mcp)

    def rows(sql: str, *params: object) -> list[dict]:
        return rows_of(db, sql, *params)

    def summary_of(row: dict) -> PageSummary:
        return PageSummary(**{k: v for k, v in row.items() if k != "body"}, words=_words(row["body"]))

    def page(page_id: int) -> Page:
        found = rows(_PAGE_SQL + " WHERE p.id = ?", page_id)
        if not found:
            raise Missing(f"There is no page {page_id}.")
        media = [r["id"] for r in rows("SELECT id FROM media WHERE page_id = ? ORDER BY id", page_id)]
        return Page(**found[0], words=_words(found[0]["body"]), media=media)

    def section_id(path: str) -> int:
        found = db.execute("SELECT id FROM sections WHERE path = ?", ("/" + path.strip("/"),)).fetchone()
        if found is None:
            known = ", ".join(r[0] for r in db.execute("SELECT path FROM sections ORDER BY path"))
            raise Missing(f"There is no section {path!r}; the sections are: {known}.")
        return found[0]

    @mcp.tool(title="Content tree", annotations=READ_ONLY)
    def content_tree() -> ContentTree:
        """Every section of the site with its place in the tree and how many pages it holds."""
        found = rows("""SELECT s.id, s.parent_id, s.path, s.title, COUNT(p.id) AS pages,
                               COALESCE(SUM(p.status = 'published'), 0) AS published
                        FROM sections s LEFT JOIN pages p ON p.section_id = s.id GROUP BY s.id ORDER BY s.path""")
        return ContentTree(sections=[Section(**r) for r in found])

    @mcp.tool(title="Search pages", annotations=READ_ONLY)
    def search_pages(
        query: str = Field("", description="words in the title or body; empty for all"),
        section: str | None = Field(None, description="a section path such as /docs/api (its subsections too)"),
        status: Literal["draft", "published", "archived"] | None = Field(None, description=PAGE_STATUS),
        author: str | None = Field(None, description="who wrote the page, e.g. amira"),
        updated_before: str | None = Field(None, description="ISO date: only pages last updated before it"),
        limit: int = Field(50, ge=1, le=1000),
        offset: int = Field(0, ge=0),
    ) -> PageList:
        """Pages matching words, a section, a status, an author or an age; most recently updated first."""
        where, params = ["1=1"], []
        for word in query.split():
            where.append("(p.title LIKE ? OR p.body LIKE ?)")
            params += [f"%{word}%"] * 2
        if section:
            section_id(section)
            where.append("(s.path = ? OR s.path LIKE ?)")
            params += ["/" + section.strip("/"), "/" + section.strip("/") + "/%"]
        condition, more = where_equal(("p.status", status), ("p.author", author))
        where.append(condition)
        params += more
        if updated_before:
            where.append("p.updated_at < ?")
            params.append(updated_before)
        clause = " AND ".join(where)
        found, paging = fetch_page(db, "pages p JOIN sections s ON s.id = p.section_id", _PAGE_SQL, clause, params,
                                   "p.updated_at DESC, p.id", limit, offset)
        return PageList(pages=[summary_of(r) for r in found], **paging)

    @mcp.tool(title="Get page", annotations=READ_ONLY)
    def get_page(page_id: int) -> Page:
        """One page with its Markdown body and the media it uses."""
        return page(page_id)

    @mcp.tool(title="List a page's versions", annotations=READ_ONLY)
    def list_versions(page_id: int) -> VersionList:
        """Every saved version of a page, newest first."""
        page(page_id)
        found = rows("SELECT version, title, author, saved_at, note, body FROM versions WHERE page_id = ? "
                     "ORDER BY version DESC", page_id)
        return VersionList(page_id=page_id, versions=[
            Version(**{k: v for k, v in r.items() if k != "body"}, words=_words(r["body"])) for r in found])

    @mcp.tool(title="Create a page", annotations=CREATES)
    async def create_page(
        section: str = Field(description="a section path such as /blog/engineering"),
        title: str = Field(min_length=3, max_length=120, description="3 to 120 characters"),
        body: str = Field(min_length=1, description="Markdown"),
        author: str = Field("notebook", description="who wrote it"),
        ctx: Context | None = None,
    ) -> Page:
        """Create a draft page (version 1) in a section."""
        now = datetime.now().isoformat(timespec="seconds")
        cursor = db.execute(
            "INSERT INTO pages(section_id, slug, title, body, status, author, created_at, updated_at, version) "
            "VALUES (?, '', ?, ?, 'draft', ?, ?, ?, 1)", (section_id(section), title, body, author, now, now))
        new_id = cursor.lastrowid
        db.execute("UPDATE pages SET slug = ? WHERE id = ?", (f"{title.lower().replace(' ', '-')}-{new_id}", new_id))
        db.execute("INSERT INTO versions VALUES (?, 1, ?, ?, ?, ?, 'first draft')", (new_id, title, body, author, now))
        if ctx is not None:
            await ctx.info(f"page {new_id} created in {section}", logger_name="cms")
            await notices.resources_changed(ctx)
        return page(new_id)

    @mcp.tool(title="Save a page", annotations=CREATES)
    async def save_page(
        page_id: int,
        title: str | None = Field(None, min_length=3, max_length=120, description="3 to 120 characters"),
        body: str | None = Field(None, min_length=1, description="Markdown"),
        note: str = Field("edited", description="what changed, kept with the version"),
        author: str = Field("notebook", description="who made this edit, kept with the version"),
        ctx: Context | None = None,
    ) -> Page:
        """Save new content as the page's next version (earlier versions are kept)."""
        current = page(page_id)
        if title is None and body is None:
            raise ToolError("Nothing to save: give a new title, a new body, or both.")
        title, body = title or current.title, body or current.body
        version, now = current.version + 1, datetime.now().isoformat(timespec="seconds")
        db.execute("INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?)", (page_id, version, title, body, author, now,
                                                                         note))
        db.execute("UPDATE pages SET title = ?, body = ?, version = ?, updated_at = ? WHERE id = ?",
                   (title, body, version, now, page_id))
        if ctx is not None:
            await ctx.info(f"page {page_id} saved as version {version}: {note}", logger_name="cms")
            await notices.updated(ctx, f"cms://pages/{page_id}")
        return page(page_id)

    @mcp.tool(title="Publish or unpublish a page", annotations=UPDATES)
    async def set_status(page_id: int,
                         status: Literal["draft", "published", "archived"] = Field(description=PAGE_STATUS),
                         ctx: Context | None = None) -> Page:
        """Publish a page, take it back to draft, or archive it (the content is kept)."""
        current = page(page_id)
        if current.status != status:
            published = datetime.now().isoformat(timespec="seconds") if status == "published" else None
            db.execute("UPDATE pages SET status = ?, published_at = COALESCE(?, published_at) WHERE id = ?",
                       (status, published, page_id))
            if ctx is not None:
                await ctx.info(f"page {page_id}: {current.status} -> {status}", logger_name="cms")
                await notices.updated(ctx, f"cms://pages/{page_id}")
                await notices.resources_changed(ctx)  # the resource list holds published pages
        return page(page_id)

    def confirm_delete(page_id: int, ctx: Context) -> object:
        current = page(page_id)
        return confirm(ctx, f"Delete page {page_id} '{current.title}' ({current.status}, {current.version} "
                            f"versions)? This cannot be undone.", DeleteConfirmation)

    @mcp.tool(title="Delete a page", annotations=DESTROYS)
    async def delete_page(
        page_id: int,
        confirmation: Annotated[ElicitationResult[DeleteConfirmation], Resolve(confirm_delete)] = None,
        ctx: Context | None = None,
    ) -> Deleted:
        """Delete a page and every version of it; its media stay in the library, unused. The person is
        asked to confirm first."""
        current = page(page_id)
        require_confirmed(confirmation, f"Page {page_id} was not deleted")
        removed = db.execute("DELETE FROM versions WHERE page_id = ?", (page_id,)).rowcount
        db.execute("UPDATE media SET page_id = NULL WHERE page_id = ?", (page_id,))
        db.execute("DELETE FROM pages WHERE id = ?", (page_id,))
        if ctx is not None:
            await ctx.warning(f"page {page_id} deleted with {removed} versions", logger_name="cms")
            await notices.updated(ctx, f"cms://pages/{page_id}")
            await notices.resources_changed(ctx)
        return Deleted(page_id=page_id, title=current.title, versions_removed=removed)

    @mcp.tool(title="List media", annotations=READ_ONLY)
    def list_media(
        mime_type: str | None = Field(None, description="e.g. image/png"),
        unused: bool = Field(False, description="only items no page uses"),
        missing_alt_text: bool = Field(False, description="only images without alt text"),
        limit: int = Field(100, ge=1, le=2000),
        offset: int = Field(0, ge=0),
    ) -> MediaList:
        """The media library, newest first."""
        condition, params = where_equal(("mime_type", mime_type))
        if unused:
            condition += " AND page_id IS NULL"
        if missing_alt_text:
            condition += " AND mime_type LIKE 'image/%' AND alt_text IS NULL"
        found, paging = fetch_page(db, "media", "SELECT * FROM media", condition, params, "uploaded_at DESC, id",
                                   limit, offset)
        return MediaList(media=[MediaItem(**r) for r in found], **paging)

    @mcp.tool(title="Freshness audit", annotations=READ_ONLY)
    async def freshness_audit(
        stale_after_days: int = Field(365, ge=1, description="a published page not updated for this long is stale"),
        as_of: str = Field(NOW.date().isoformat(), description="the audit's date (ISO)"),
        delay: float = Field(0.05, ge=0, le=10, description=DELAY),
        ctx: Context | None = None,
    ) -> FreshnessAudit:
        """Per section: published pages, how many are stale, the oldest update, and images without alt
        text. Reports progress per section; cancelling stops it."""
        cutoff = (datetime.fromisoformat(as_of) - timedelta(days=stale_after_days)).isoformat()
        sections = rows("SELECT id, path FROM sections ORDER BY path")
        report = []
        for done, section in enumerate(sections, start=1):
            row = db.execute(
                """SELECT COUNT(*), COALESCE(SUM(p.updated_at < ?), 0), MIN(p.updated_at),
                          (SELECT COUNT(*) FROM media m JOIN pages q ON q.id = m.page_id
                           WHERE q.section_id = ? AND q.status = 'published'
                             AND m.mime_type LIKE 'image/%' AND m.alt_text IS NULL)
                   FROM pages p WHERE p.section_id = ? AND p.status = 'published'""",
                (cutoff, section["id"], section["id"])).fetchone()
            report.append(FreshnessRow(section=section["path"], published=row[0], stale=row[1],
                                       oldest_update=row[2], missing_alt_text=row[3]))
            if ctx is not None:
                await ctx.report_progress(done, len(sections), section["path"])
            await anyio.sleep(delay)  # a real audit fetches each page; a cancel lands here
        if ctx is not None:
            stale = sum(r.stale for r in report)
            await ctx.info(f"freshness audit: {stale} stale pages of {sum(r.published for r in report)}",
                           logger_name="cms")
        return FreshnessAudit(stale_after_days=stale_after_days, as_of=as_of, rows=report)

    def ask_for_digest(page_id: int, ctx: Context) -> object:
        found = page(page_id)
        return summary_request(ctx, "Summarise this web page in two sentences for an editor:", found.body)

    @mcp.tool(title="Summarise a page", annotations=READ_ONLY)
    async def summarise_page(
        page_id: int,
        reply: Annotated[types.CreateMessageResult | None, Resolve(ask_for_digest)] = None,
    ) -> PageDigest:
        """A two-sentence summary of a page, written by the client's model (sampling); the page's first
        two sentences when the client offers no sampling."""
        found = page(page_id)
        if reply is None:
            prose = " ".join(found.body.split("\n\n")[1:])  # the paragraphs under the heading
            text = " ".join(re.split(r"(?<=[.!?])\s+", prose)[:2]).strip()
            return PageDigest(page_id=page_id, summary=text, by="first sentences")
        return PageDigest(page_id=page_id, summary=reply_text(reply), by=reply.model)

    # -- resources ----------------------------------------------------------------------

    @mcp.resource("cms://style-guide", title="Style guide", mime_type="text/markdown")
    def style_guide() -> str:
        """How pages on this site are written."""
        return ("# Style guide\n\n- Titles in sentence case, under 60 characters.\n"
                "- Every image has alt text that says what it shows.\n"
                "- Review published pages at least once a year.\n- Link to the docs, do not copy them.\n")

    @mcp.resource("cms://sections", title="Sections", mime_type="application/json")
    def sections_resource() -> str:
        """The content tree, as JSON."""
        return content_tree().model_dump_json()

    @mcp.resource("cms://pages/{page_id}", title="Page", mime_type="text/markdown")
    def page_resource(page_id: int) -> str:
        """A page's current Markdown."""
        return page(page_id).body

    @mcp.resource("cms://pages/{page_id}/versions/{version}", title="Page version", mime_type="text/markdown")
    def version_resource(page_id: int, version: int) -> str:
        """One saved version of a page."""
        found = db.execute("SELECT body FROM versions WHERE page_id = ? AND version = ?",
                           (page_id, version)).fetchone()
        if found is None:
            raise Missing(f"Page {page_id} has no version {version}.")
        return found[0]

    @mcp.resource("cms://media/{media_id}", title="Media item", mime_type="application/json")
    def media_resource(media_id: int) -> str:
        """One media item's details, as JSON."""
        found = rows("SELECT * FROM media WHERE id = ?", media_id)
        if not found:
            raise Missing(f"There is no media item {media_id}.")
        return json.dumps(found[0])

    def published_pages() -> list[types.Resource]:
        return [types.Resource(uri=f"cms://pages/{r[0]}", name=r[1], title=r[2], mime_type="text/markdown")
                for r in db.execute("SELECT id, slug, title FROM pages WHERE status = 'published' ORDER BY id")]

    paged_resources(mcp, published_pages)

    # -- prompts and completions --------------------------------------------------------

    @mcp.prompt(title="Write a meta description")
    def meta_description(page_id: str) -> str:
        """Ask a model for a search-result description of a page."""
        found = page(int(page_id))
        return (f"Write a meta description (at most 155 characters) for this page.\n\nTitle: {found.title}\n\n"
                f"{found.body}")

    @mcp.prompt(title="Rewrite in a tone")
    def rewrite(page_id: str, tone: str = "plain") -> str:
        """Ask a model to rewrite a page in a given tone, following the style guide."""
        found = page(int(page_id))
        return (f"Rewrite this page in a {tone} tone, following the style guide (cms://style-guide). Keep "
                f"the headings.\n\n{found.body}")

    @mcp.completion()
    async def complete(ref, argument, context):  # noqa: ANN001  (SDK callback signature)
        typed = argument.value or ""
        if argument.name == "tone":
            return Completion(values=[t for t in TONES if t.startswith(typed)])
        if argument.name == "page_id" and isinstance(ref, (PromptReference, ResourceTemplateReference)):
            return complete_ids(db, "pages", typed)
        if argument.name == "version" and isinstance(ref, ResourceTemplateReference):
            page_id = (context.arguments or {}).get("page_id") if context else None
            found = db.execute("SELECT version FROM versions WHERE page_id = ? ORDER BY version",
                               (page_id or 0,)).fetchall()
            return Completion(values=[str(r[0]) for r in found if str(r[0]).startswith(typed)])
        return None

    return mcp

