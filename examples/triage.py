# Find database errors in the logs, group them by service, and summarise: one program,
# one round trip, and only the summary comes back.
errors = ops.search_logs(level="error", limit=500)
db = [e for e in errors if "database" in e["message"]]
by_service = {}
for e in db:
    by_service.setdefault(e["service"], []).append(e["message"])
print(f"{len(errors)} errors in the logs, {len(db)} of them database errors")
{service: {"count": len(msgs), "example": msgs[0]} for service, msgs in by_service.items()}
