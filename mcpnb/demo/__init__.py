"""Demo MCP servers standing in for real business systems, backed by SQLite."""
DEMO_SYSTEMS = ("helpdesk",)
