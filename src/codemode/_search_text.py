"""Text handling for tool search: tokens, stems, and the vocabulary of API requests.

The index and the query go through the same pipeline, so that `listRepositoryIssues`,
"list the issues of a repo" and `GET /repos/{owner}/{repo}/issues` meet on the same
terms: markup and URLs are dropped, identifiers are split at camelCase, snake_case and
kebab-case boundaries, words are lower-cased, reduced to a Porter stem, and a few
abbreviations are spelled out (`repo` -> `repository`, `org` -> `organization`).

Queries are additionally expanded with related words (`remove` also looks for `delete`,
`webhook` for `hook`), at a discount, since people describe a task in their own words
while API documents use their own.
"""

from __future__ import annotations

import functools
import re

__all__ = [
    "STOP_WORDS",
    "expand",
    "intents",
    "stem",
    "terms",
    "words",
]

# camelCase humps, ALLCAPS runs (not eating the next word's capital), digit runs.
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
# Markup that carries no meaning for search: HTML tags, entities, URLs, the target of a
# Markdown link (its text stays), inline code ticks.
_NOISE = re.compile(r"<[^<>]{0,200}>|&[a-z]+;|https?://\S+|\]\([^)]*\)")

STOP_WORDS = frozenset(
    {
        *("a", "about", "across", "all", "also", "am", "an", "and", "any", "are", "as", "at"),
        *("be", "been", "but", "by", "can", "could", "do", "does", "each", "every", "for"),
        *("from", "has", "have", "he", "her", "here", "how", "i", "if", "in", "into", "is"),
        *("it", "its", "just", "let", "like", "many", "me", "much", "my", "need", "now"),
        *("of", "off", "on", "onto", "or", "our", "out", "please", "she", "should", "so"),
        *("some", "than", "that", "the", "their", "them", "then", "there", "these", "they"),
        *("this", "those", "to", "up", "us", "using", "via", "want", "was", "we", "were"),
        *("what", "when", "where", "which", "while", "who", "whom", "why", "will", "with"),
        *("would", "you", "your", "yours", "one", "e", "g", "s", "t", "etc", "i.e"),
    }
)
"""Words that say nothing about which operation is meant."""


# -- stemming ---------------------------------------------------------------------------
# The Porter (1980) algorithm: conservative enough that distinct API nouns stay apart
# (`policy` / `police` are rare; `organization` -> `organ` is harmless), and it joins
# `contributors`/`contributed`, `updates`/`updating`, `repositories`/`repository`.

_VOWELS = frozenset("aeiou")


def _cons(w: str, i: int) -> bool:
    c = w[i]
    if c in _VOWELS:
        return False
    if c == "y":
        return i == 0 or not _cons(w, i - 1)
    return True


def _m(w: str) -> int:
    """The number of vowel-consonant sequences in `w` (Porter's measure)."""
    n, i, length = 0, 0, len(w)
    while i < length and _cons(w, i):
        i += 1
    while i < length:
        while i < length and not _cons(w, i):
            i += 1
        if i >= length:
            break
        n += 1
        while i < length and _cons(w, i):
            i += 1
    return n


def _has_vowel(w: str) -> bool:
    return any(not _cons(w, i) for i in range(len(w)))


def _double_cons(w: str) -> bool:
    return len(w) >= 2 and w[-1] == w[-2] and _cons(w, len(w) - 1)


def _cvc(w: str) -> bool:
    if len(w) < 3:
        return False
    return (
        _cons(w, len(w) - 3)
        and not _cons(w, len(w) - 2)
        and _cons(w, len(w) - 1)
        and w[-1] not in "wxy"
    )


_STEP2 = (
    ("ational", "ate"),
    ("tional", "tion"),
    ("enci", "ence"),
    ("anci", "ance"),
    ("izer", "ize"),
    ("abli", "able"),
    ("alli", "al"),
    ("entli", "ent"),
    ("eli", "e"),
    ("ousli", "ous"),
    ("ization", "ize"),
    ("ation", "ate"),
    ("ator", "ate"),
    ("alism", "al"),
    ("iveness", "ive"),
    ("fulness", "ful"),
    ("ousness", "ous"),
    ("aliti", "al"),
    ("iviti", "ive"),
    ("biliti", "ble"),
)
_STEP3 = (
    ("icate", "ic"),
    ("ative", ""),
    ("alize", "al"),
    ("iciti", "ic"),
    ("ical", "ic"),
    ("ful", ""),
    ("ness", ""),
)
_STEP4 = (
    *("al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent"),
    *("ion", "ou", "ism", "ate", "iti", "ous", "ive", "ize"),
    "or",  # not Porter's: joins agent nouns to their verbs (`contributor`, `monitor`)
    "ee",  # not Porter's: `assignee` -> `assign`
)
# Words Porter would merge with a different, common API word (`customer` -> `custom`).
_KEEP = frozenset({"customer", "customers", "container", "containers"})


def _replace(w: str, pairs: tuple[tuple[str, str], ...], min_m: int) -> str:
    for suffix, repl in pairs:
        if w.endswith(suffix):
            base = w[: -len(suffix)]
            return base + repl if _m(base) > min_m else w
    return w


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Porter stem of a lower-case word (`repositories` -> `repositori`)."""
    w = word
    if len(w) <= 2 or not w.isalpha() or not _VOWELS.intersection(w.replace("y", "a")):
        return w  # short words, numbers and acronyms (`dns`, `https`, `tls`) stay whole
    if w in _KEEP:
        return w.removesuffix("s")
    # step 1a: plurals
    if w.endswith(("sses", "ies")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    # step 1b: -ed, -ing
    trimmed = False
    if w.endswith("eed"):
        if _m(w[:-3]) > 0:
            w = w[:-1]
    elif w.endswith("ed") and _has_vowel(w[:-2]):
        w, trimmed = w[:-2], True
    elif w.endswith("ing") and _has_vowel(w[:-3]):
        w, trimmed = w[:-3], True
    if trimmed:
        if w.endswith(("at", "bl", "iz")):
            w += "e"
        elif _double_cons(w) and w[-1] not in "lsz":
            w = w[:-1]
        elif _m(w) == 1 and _cvc(w):
            w += "e"
    # step 1c: -y -> -i
    if w.endswith("y") and _has_vowel(w[:-1]):
        w = w[:-1] + "i"
    w = _replace(w, _STEP2, 0)
    w = _replace(w, _STEP3, 0)
    # step 4: drop a suffix when enough of the word remains
    for suffix in _STEP4:
        if w.endswith(suffix):
            base = w[: -len(suffix)]
            if _m(base) > 1 and (suffix != "ion" or base.endswith(("s", "t"))):
                w = base
                if w.endswith("y") and _has_vowel(w[:-1]):  # as step 1c: `deployment`
                    w = w[:-1] + "i"
            break
    # step 5: final -e, double l
    if w.endswith("e"):
        base = w[:-1]
        if _m(base) > 1 or (_m(base) == 1 and not _cvc(base)):
            w = base
    if _m(w) > 1 and w.endswith("ll"):
        w = w[:-1]
    return w


# -- vocabulary -------------------------------------------------------------------------

# Abbreviations and spellings that mean exactly the same thing; applied to documents and
# queries alike, before stemming.
_CANONICAL = {
    "repo": "repository",
    "org": "organization",
    "orgs": "organizations",
    "organisation": "organization",
    "organisations": "organizations",
    "config": "configuration",
    "configs": "configurations",
    "auth": "authentication",
    "cert": "certificate",
    "certs": "certificates",
    "info": "information",
    "db": "database",
    "dbs": "databases",
    "env": "environment",
    "envs": "environments",
    "app": "application",
    "apps": "applications",
    "stats": "statistics",
    "msg": "message",
    "msgs": "messages",
    "dir": "directory",
    "addr": "address",
    "prefs": "preferences",
    "params": "parameters",
    "sub": "subscription",
    "subs": "subscriptions",
    "cancelled": "canceled",
    "cancelling": "canceling",
    "colo": "colocation",
    "colos": "colocations",
    "lb": "loadbalancer",
    "promo": "promotion",
    "promos": "promotions",
    "repos": "repositories",
}

# Query-only rewrites of one word into several (the documents spell the phrase out).
_PHRASES = {
    "pr": ("pull", "request"),
    "prs": ("pull", "requests"),
    "mr": ("pull", "request"),
    "2fa": ("two", "factor"),
    "mfa": ("multi", "factor"),
    # APIs call throttling a rate limit
    "throttle": ("rate", "limit"),
    "throttling": ("rate", "limiting"),
    "throttled": ("rate", "limited"),
}

# Query-only: one word that may mean any of several index words (one slot, alternatives).
_ALTERNATIVES = {
    "ci": ("check", "status", "workflow"),
    "vat": ("tax",),
    "gst": ("tax",),
}
_ALTERNATIVE_WEIGHT = 0.8

# Function words that still hint at the operation: "which/all X" asks for a list, "who"
# for people.
_HINTS = {
    "which": ("list",),
    "all": ("list",),
    "who": ("user", "people", "member", "list"),
}
_HINT_WEIGHT = 0.3

# Groups of words a person may use for what an API calls something else. Within a group
# every word also looks for the others, at a discount (see `expand`). Kept to general API
# and product vocabulary; each entry must make sense without any particular query.
_RELATED: tuple[tuple[str, ...], ...] = (
    # verbs
    ("delete", "remove", "destroy", "drop", "erase", "kick", "unset", "revoke"),
    ("create", "add", "new", "make", "register", "open", "setup", "generate", "onboard"),
    ("list", "all", "show", "enumerate", "browse", "which"),
    ("get", "retrieve", "fetch", "read", "view", "show", "details", "lookup", "look", "info"),
    ("update", "edit", "modify", "change", "set", "patch", "alter", "configure", "adjust"),
    ("enable", "activate", "turn", "switch", "toggle", "allow", "on"),
    ("disable", "deactivate", "turn", "switch", "toggle", "off"),
    ("search", "find", "query", "lookup", "look", "filter"),
    ("run", "execute", "invoke", "trigger", "dispatch", "start", "kick"),
    ("rerun", "retry", "redeploy", "restart", "run"),
    ("cancel", "stop", "abort", "terminate", "halt", "kill"),
    ("download", "export", "fetch", "dump"),
    ("upload", "import", "attach", "push"),
    ("replace", "overwrite", "set", "put"),
    ("save", "store", "write", "put", "persist", "attach"),
    ("attach", "link", "associate", "add", "save"),
    ("detach", "unlink", "dissociate", "remove"),
    ("invite", "invitation", "add"),
    ("grant", "give", "add", "allow"),
    ("custom", "own", "byo", "bespoke"),
    ("request", "ask", "require"),
    ("latest", "newest", "recent", "last", "current", "most"),
    ("block", "deny", "ban", "blacklist", "blocklist", "forbid", "firewall"),
    ("allow", "whitelist", "allowlist", "permit"),
    ("move", "transfer", "migrate"),
    ("compare", "diff", "difference"),
    ("purge", "clear", "flush", "invalidate", "evict"),
    ("publish", "release", "deploy", "ship"),
    ("deploy", "deployment", "publish", "upload"),
    ("schedule", "cron", "periodic", "every", "recurring", "timer"),
    ("approve", "accept", "review"),
    ("reject", "decline", "deny"),
    ("verify", "validate", "check", "test"),
    ("close", "resolve", "complete", "completed", "done", "state", "update"),
    ("reopen", "open", "state", "update"),
    ("rename", "name", "update"),
    ("archive", "archived", "update"),
    ("lock", "freeze"),
    ("pay", "payment", "charge", "collect", "buy", "purchase", "checkout"),
    ("refund", "reverse", "reversal", "return"),
    ("subscribe", "subscription", "signup", "sign", "enroll"),
    ("follow", "follower", "following", "followers"),
    ("star", "stargazer", "starred", "stargazers"),
    ("watch", "watcher", "subscriber", "subscription"),
    ("react", "reaction", "emoji", "thumbs"),
    # nouns
    ("issue", "bug", "ticket", "report"),
    ("pull", "pr", "merge"),
    ("repository", "codebase"),
    ("organization", "org", "company", "team", "enterprise"),
    ("user", "member", "person", "people", "profile", "teammate", "membership"),
    ("account", "user", "profile"),
    ("collaborator", "contributor", "member", "access", "permission"),
    ("webhook", "hook", "callback", "endpoint", "notify", "event"),
    ("notification", "notify", "inbox", "alert", "unread"),
    ("comment", "reply", "note", "message", "remark"),
    ("label", "tag", "category"),
    ("branch", "ref", "reference", "head"),
    ("commit", "sha", "revision", "change"),
    ("file", "content", "contents", "document", "blob", "path"),
    ("readme", "content", "contents"),
    ("gist", "snippet", "paste"),
    ("secret", "credential", "password", "variable"),
    ("token", "key", "credential", "apikey"),
    ("key", "value", "pair", "kv"),
    ("log", "logs", "logpush", "audit", "history", "trail"),
    ("analytics", "statistics", "metrics", "traffic", "views", "visits", "visitors", "insights"),
    ("rate", "limit", "quota", "throttle", "calls", "remaining"),
    ("workflow", "action", "actions", "job", "pipeline", "build"),
    ("status", "check", "state", "result", "pass", "passed", "failed", "failure", "success"),
    ("language", "languages", "linguist"),
    ("vulnerability", "security", "advisory", "cve", "alert", "dependabot"),
    ("milestone", "roadmap", "deadline"),
    # web / cloud
    ("zone", "domain", "site", "website"),
    ("dns", "record", "records", "nameserver", "resolver"),
    ("record", "entry", "entries"),
    ("cache", "cdn", "edge", "cached"),
    ("certificate", "tls", "ssl", "https", "cert"),
    ("https", "ssl", "tls", "http"),
    ("ip", "address", "addresses", "ipv4", "ipv6"),
    ("worker", "script", "function", "serverless"),
    ("bucket", "storage", "object", "r2", "s3"),
    ("kv", "key", "value", "namespace"),
    ("queue", "waiting", "line", "message"),
    ("tunnel", "expose", "connector"),
    ("image", "picture", "photo", "img"),
    ("video", "stream", "movie", "clip"),
    ("redirect", "forward", "forwarding", "rewrite"),
    ("firewall", "waf", "rule", "ruleset", "protect", "protection"),
    ("login", "signin", "sso", "authenticate", "access", "identity", "zero", "trust"),
    ("hostname", "host", "domain", "subdomain"),
    ("load", "balancer", "loadbalancer", "balancing"),
    ("monitor", "healthcheck", "health", "probe"),
    ("captcha", "turnstile", "challenge", "bot"),
    ("email", "mail", "inbox", "address"),
    ("settings", "setting", "configuration", "option", "preferences", "mode"),
    ("compress", "compression", "brotli", "gzip", "minify"),
    ("sql", "database", "d1", "query"),
    ("model", "ai", "llm", "inference"),
    ("registrar", "registration", "registered", "domain"),
    ("whois", "registrant", "owner", "intel"),
    # payments
    ("customer", "client", "buyer", "payer", "shopper"),
    ("charge", "payment", "pay", "card", "transaction"),
    ("payment", "intent", "charge", "paymentintent"),
    ("card", "source", "method", "paymentmethod"),
    ("invoice", "bill", "billing", "receipt"),
    ("subscription", "plan", "recurring", "membership", "tier"),
    ("price", "pricing", "cost", "amount", "fee", "plan"),
    ("coupon", "discount", "promo", "promotion", "voucher", "off"),
    ("product", "item", "sku", "goods", "catalog"),
    ("payout", "withdraw", "withdrawal", "bank"),
    ("balance", "funds", "money", "available"),
    ("dispute", "chargeback", "evidence"),
    ("transfer", "send", "funds", "connected"),
    ("account", "seller", "merchant", "vendor", "connect", "connected", "onboard"),
    ("checkout", "hosted", "session", "cart"),
    ("portal", "billing", "selfserve", "manage"),
    ("usage", "metered", "meter", "consumption"),
    ("tax", "vat", "gst", "sales"),
    ("event", "events", "activity", "happened"),
    ("upcoming", "next", "preview", "future"),
    ("credit", "note", "adjustment"),
    ("link", "url", "shareable", "share"),
)

_RELATED_WEIGHT = 0.5
"""How much a related word counts next to the word the query used."""


@functools.lru_cache(maxsize=65536)
def _canon(low: str) -> str:
    return stem(_CANONICAL.get(low, low))


def words(text: str) -> list[str]:
    """Lower-case words of `text`: markup dropped, identifiers split, stop words kept."""
    if "<" in text or "http" in text or "](" in text or "&" in text:
        text = _NOISE.sub(" ", text)
    return [w.lower() for w in _WORD.findall(text)]


def terms(text: str) -> list[str]:
    """Index terms of `text`: stop words dropped, abbreviations spelled out, stemmed."""
    return [_canon(w) for w in words(text) if w not in STOP_WORDS]


def _related_table() -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    for group in _RELATED:
        stems = [_canon(w) for w in group]
        for s in stems:
            entry = table.setdefault(s, {})
            for other in stems:
                if other != s:
                    entry[other] = max(entry.get(other, 0.0), _RELATED_WEIGHT)
    return table


_RELATED_TABLE = _related_table()


# Phrasal verbs and compounds that mean one thing, rewritten in the query before splitting.
_COMPOUNDS = tuple(
    (re.compile(rf"\b{phrase}\b", re.IGNORECASE), f" {meaning} ")
    for phrase, meaning in (
        ("bug reports?", "issue"),
        ("turn(?:ed|s)? on", "enable"),
        ("turn(?:ed|s)? off", "disable"),
        ("switch(?:ed|es)? on", "enable"),
        ("switch(?:ed|es)? off", "disable"),
        ("sign(?:ed|s)? up", "subscribe"),
        ("log(?:ged|s)? in", "login"),
        ("look(?:ed|s)? up", "get"),
        ("set(?:s)? up", "create"),
        ("kick(?:ed|s)? out", "remove"),
        ("thumbs? up", "reaction"),
        ("thumbs? down", "reaction"),
        ("how many", "count"),
        ("too many requests", "rate limit"),  # HTTP 429's name for it
        # "who changed/deleted ..." is the question an audit log answers
        ("who (?:changed|modified|edited|deleted|removed|did)", "audit log"),
        ("sign(?:ed|s)? in", "login"),
    )
)

# Values people paste into a request hint at what kind of thing the operation takes.
# They are replaced by a marker word (`Valueemail`) that `expand` weighs as a hint only.
_VALUES = (
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), " Valueemail "),
    (re.compile(r"https?://\S+"), " Valueurl "),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?:/\d+)?\b"), " Valueip "),
    (
        re.compile(r"\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|dev|app|co|ai|xyz)\b"),
        " Valuedomain ",
    ),
    (re.compile(r"\$\s?\d[\d,.]*"), " Valueamount "),
    (re.compile(r"\bv\d+(?:\.\d+)+\b"), " Valueversion "),
    (re.compile(r"\b\d+(?:\.\d+)?\s?%"), " Valuepercent "),
)

# Verbs whose `re-` form means "do it again" (not `review`, `remove`, `restore`).
_REDOABLE = frozenset(
    {
        *("run", "deploy", "deploying", "deployed", "open", "opened", "send", "sent"),
        *("start", "build", "index", "generate", "sync", "assign", "authorize"),
        *("activate", "enable", "connect", "submit", "try", "load", "fetch", "create"),
        *("import", "upload", "install", "launch", "scan", "validate", "verify"),
        *("issue", "order", "attempt", "deliver", "trigger", "publish", "invite"),
    }
)
# In "create a health monitor for an origin pool" the monitor is what is made; words
# after a preposition describe where or for what, and weigh less.
_PREPOSITIONS = frozenset(
    {"for", "in", "on", "to", "from", "under", "across", "into", "of", "against"}
    | {"at", "behind", "during", "per", "within", "inside", "onto", "via", "through"}
)
_CONTEXT_WEIGHT = 0.6
_VALUE_WEIGHT = 0.5

# "my repositories", "add me": APIs say "the authenticated user"
_FIRST_PERSON = frozenset({"my", "me", "mine", "myself", "i", "own"})
_MINE_WEIGHT = 0.3
_NUMBER_WEIGHT = 0.3
_PREFIX_WEIGHT = 0.8


def expand(query: str) -> list[dict[str, float]]:
    """The query as a list of word slots, each mapping index terms to a weight.

    A slot is one word the query used: its own term first (weight 1, less for a word
    after a preposition, a number, or a pasted value such as an email address), then
    related terms at a discount. A document scores a slot by its best-matching term, so
    a tool that says both "delete" and "remove" is not counted twice for "remove".
    First-person words and "who/which/all" add a weak hint slot (the authenticated
    user; a list of people or things).
    """
    for pattern, meaning in (*_VALUES, *_COMPOUNDS):
        query = pattern.sub(meaning, query)
    slots: list[dict[str, float]] = []
    mine = False
    hints: dict[str, float] = {}
    context = 1.0
    for word in words(query):
        if word in _PREPOSITIONS:
            context = _CONTEXT_WEIGHT
        if word in _FIRST_PERSON:
            mine = True
            if word != "own":  # "my own certificate" is also a custom one
                continue
        if word in _HINTS:
            hints.update((_canon(h), _HINT_WEIGHT) for h in _HINTS[word])
            continue
        if word in STOP_WORDS:
            continue
        if word in _ALTERNATIVES:
            slots.append({_canon(w): _ALTERNATIVE_WEIGHT * context for w in _ALTERNATIVES[word]})
            continue
        scale = context
        if word.startswith("value") and word != "value":
            word, scale = word[len("value") :], _VALUE_WEIGHT
        elif word.isdigit():
            scale = _NUMBER_WEIGHT  # an issue number or a count, rarely a name (`http2`)
        for part in _PHRASES.get(word, (word,)):
            term = _canon(part)
            if any(next(iter(s)) == term for s in slots):
                continue
            slot = {term: scale}
            # `redeploy`, `resend`, `reopen`: the verb itself is nearly as good
            if part.startswith("re") and part[2:] in _REDOABLE:
                slot.setdefault(_canon(part[2:]), _PREFIX_WEIGHT * scale)
            for other, weight in _RELATED_TABLE.get(term, {}).items():
                slot.setdefault(other, weight * scale)
            slots.append(slot)
    offered = {t for s in slots for t in s}
    if mine and _canon("authenticated") not in offered:
        slots.append({_canon("authenticated"): _MINE_WEIGHT})
    if hints and not offered.intersection(hints):
        slots.append(hints)
    # A related term the query also asks for itself belongs to that word's slot only, so
    # that "send funds to a connected account" does not count `connect` for every word.
    asked = {next(iter(slot)) for slot in slots}
    for slot in slots:
        own = next(iter(slot))
        for term in [t for t in slot if t != own and t in asked]:
            del slot[term]
    return slots


def intents(method: str, path: str) -> list[str]:
    """Verbs an HTTP operation performs, for APIs whose names do not say (`POST /v1/x`).

    A GET of a collection lists, of an item retrieves; a POST to a collection creates,
    to an item updates; PUT and PATCH update; DELETE deletes.
    """
    on_item = path.rstrip("/").endswith("}")
    method = method.upper()
    if method == "GET":
        return ["get", "retrieve"] if on_item else ["list"]
    if method == "POST":
        return ["update"] if on_item else ["create"]
    if method in ("PUT", "PATCH"):
        return ["update", "set"]
    if method == "DELETE":
        return ["delete"]
    return []
