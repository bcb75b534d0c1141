"""Following an API's pagination, for `OpenAPISource.paginator`.

Recognised, in this order, on each page:

* an RFC 8288 (ex-5988) `Link: <...>; rel="next"` header (GitHub): fetch that URL;
* Stripe lists, `{"data": [...], "has_more": true}`: `starting_after=<last item's id>`
  (Stripe search results, `{"next_page": "..."}`: `page=<next_page>`);
* Cloudflare lists, `{"result": [...], "result_info": {"page", "total_pages"}}`: `page+1`;
* a cursor field (`next_cursor`, `nextCursor`, `next_page_token`, `nextPageToken`,
  `cursor`, `next`), at the top level or one level down (`meta`, `response_metadata`,
  ...), sent back through the matching query parameter; a `next` that is a URL is
  fetched as is.

Each page contributes its items: the page itself when it is a list, else its list field
(`data`, `result`, `items`, `results`, ..., or the only list in it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from codemode.errors import ToolError
from codemode.sources._openapi_ops import Plan

__all__ = ["collect", "items_of"]

Page = tuple[Any, Callable[[str], str | None]]
"""A decoded page, and a lookup of its Link header relations (rel -> absolute URL)."""

_LIST_FIELDS = ("data", "result", "items", "results", "records", "entries", "values", "nodes")
# Cursor field in the response -> query parameters that take it back, in preference order.
_CURSORS = {
    "next_cursor": ("cursor", "next_cursor", "after", "starting_after"),
    "nextCursor": ("cursor", "nextCursor", "after"),
    "next_page_token": ("page_token", "next_page_token", "pageToken"),
    "nextPageToken": ("pageToken", "page_token", "nextPageToken"),
    "cursor": ("cursor", "after"),
    "next": ("cursor", "next", "after", "page_token"),
}


def items_of(page: Any) -> list[Any] | None:
    """The items of one page, or None when it has no list to take them from."""
    if isinstance(page, list):
        return page
    if not isinstance(page, Mapping):
        return None
    for key in _LIST_FIELDS:
        if isinstance(page.get(key), list):
            return list(page[key])
    lists = [v for v in page.values() if isinstance(v, list)]
    return list(lists[0]) if len(lists) == 1 else None


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://", "/"))


def _next_arguments(
    plan: Plan, page: Mapping[str, Any], items: list[Any], arguments: dict[str, Any]
) -> dict[str, Any] | str | None:
    """The arguments (or URL) of the next page from a page's body, or None at the end."""

    def with_param(wire: str, value: Any) -> dict[str, Any] | None:
        prop = plan.query_property(wire)
        return None if prop is None else {**arguments, prop: value}

    if page.get("has_more") is True:
        if isinstance(page.get("next_page"), str) and page["next_page"]:
            found = with_param("page", page["next_page"])
            if found is not None:
                return found
        last = items[-1] if items else None
        if isinstance(last, Mapping) and last.get("id") is not None:
            found = with_param("starting_after", last["id"])
            if found is not None:
                return found
    info = page.get("result_info")
    if isinstance(info, Mapping):
        current, total = info.get("page"), info.get("total_pages")
        if not isinstance(total, int) and isinstance(info.get("total_count"), int):
            per_page = info.get("per_page")
            if isinstance(per_page, int) and per_page > 0:
                total = -(-info["total_count"] // per_page)
        if isinstance(current, int) and isinstance(total, int):
            return with_param("page", current + 1) if current < total else None
    places = [page, *(v for v in page.values() if isinstance(v, Mapping))]
    for field, params in _CURSORS.items():
        for place in places:
            value = place.get(field)
            if value in (None, "", False) or isinstance(value, Mapping | list | bool):
                continue
            if isinstance(value, str) and _is_url(value):
                return value
            for wire in params:
                found = with_param(wire, value)
                if found is not None:
                    return found
    return None


async def collect(
    plan: Plan,
    arguments: dict[str, Any],
    max_pages: int,
    qualified: str,
    fetch: Callable[[dict[str, Any]], Awaitable[Page]],
    follow: Callable[[str], Awaitable[Page]],
) -> list[Any]:
    """Every item of up to `max_pages` pages, starting with `arguments`.

    `fetch(arguments)` performs the call; `follow(url)` fetches a next-page URL with the
    same headers. Raises ToolError when the operation shows no sign of pagination or a
    page has no list of items.
    """
    if not plan.pageable:
        raise ToolError(
            f"{qualified} has no recognisable pagination (no page or cursor parameter, "
            f"Link header or cursor field); call it directly",
            tool=qualified,
        )
    collected: list[Any] = []
    seen: set[str] = set()
    page, links = await fetch(arguments)
    for number in range(1, max(max_pages, 1) + 1):
        items = items_of(page)
        if items is None:
            raise ToolError(
                f"{qualified}: page {number} has no list of items to collect "
                f"(got {type(page).__name__}); call the tool directly",
                tool=qualified,
            )
        collected += items
        if number >= max_pages:
            break
        following: dict[str, Any] | str | None = links("next")
        if following is None and isinstance(page, Mapping):
            following = _next_arguments(plan, page, items, arguments)
        if following is None or (not items and not isinstance(following, str)):
            break
        key = following if isinstance(following, str) else repr(sorted(following.items()))
        if key in seen:  # the API sent the same position again: stop, do not loop
            break
        seen.add(key)
        if isinstance(following, str):
            page, links = await follow(following)
        else:
            arguments = following
            page, links = await fetch(arguments)
    return collected
