"""codemode: LLM agents use tools by writing one Python program.

Tools from Python functions (and, through sources, MCP servers and APIs) become typed
functions on namespaces inside a secure sandbox. A program calls them, loops, filters
and chains, and only what it prints or returns comes back.

```python
from codemode import CodeMode

with CodeMode() as cm:
    cm.add_function(get_weather, namespace="weather")
    r = cm.execute('weather.get_weather(city="Paris")')
    print(r.ok, r.result)
```
"""

from codemode.catalog import Source, Tool, ToolAnnotations
from codemode.core import CodeMode
from codemode.errors import (
    ApprovalError,
    CodeModeError,
    ConfigError,
    LimitExceeded,
    SandboxError,
    SourceError,
    ToolError,
)
from codemode.limits import Limits
from codemode.policy import Policy
from codemode.results import ErrorInfo, ExecutionResult, ToolCall
from codemode.search import SearchHit
from codemode.secret import Secrets
from codemode.store import Quota, Store, open_store

__all__ = [
    "ApprovalError",
    "CodeMode",
    "CodeModeError",
    "ConfigError",
    "ErrorInfo",
    "ExecutionResult",
    "LimitExceeded",
    "Limits",
    "Policy",
    "Quota",
    "SandboxError",
    "SearchHit",
    "Secrets",
    "Source",
    "SourceError",
    "Store",
    "Tool",
    "ToolAnnotations",
    "ToolCall",
    "ToolError",
    "open_store",
]

__version__ = "0.1.0"
