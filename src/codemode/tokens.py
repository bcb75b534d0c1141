"""Counting the tokens a text or a JSON value costs a model (o200k, offline).

One place loads the encoder, so the demo, the server and later the results that report
their token cost all count the same way.
"""

from __future__ import annotations

import functools
import json
import warnings
from typing import Any

__all__ = ["count_tokens"]


@functools.cache
def _encoder(name: str) -> Any:
    with warnings.catch_warnings():
        # bpe_openai loads its tables through importlib.resources' deprecated API.
        warnings.simplefilter("ignore", DeprecationWarning)
        import bpe_openai

        return bpe_openai.get_encoding(name)


_CHUNK = 64 * 1024


def count_tokens(value: Any, encoding: str = "o200k_base") -> int:
    """Tokens of `value`: a string as is, anything else as its compact JSON text.

    Very long texts (the encoder refuses them whole) are counted in chunks cut at line
    breaks; each cut can change the count by a token or two.
    """
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    encoder = _encoder(encoding)
    if len(text) <= _CHUNK:
        return len(encoder.encode_ordinary(text))
    total, start = 0, 0
    while start < len(text):
        end = min(start + _CHUNK, len(text))
        if end < len(text):
            cut = text.rfind("\n", start, end)
            end = cut + 1 if cut > start else end
        total += len(encoder.encode_ordinary(text[start:end]))
        start = end
    return total
