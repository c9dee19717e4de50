"""`classify` command: JSON Lines in, one JSON verdict per line out.

Input fields: `title`, `summary` (strings, required), `lang` and `link` (optional strings).
Output: `relevant`, `score`, `countries`, `action`, `reasons`, plus `link` when given. A line
that is not a JSON object with those fields (one nested too deeply, or with a number too long
to read, included) yields `{"error": "line N: ..."}` and the run goes on; the exit code is 1 if
any line was bad, else 0. Blank lines are skipped.
"""

from __future__ import annotations

import json
from typing import TextIO

from bot.relevance.classifier import Classifier


class _BadLine(ValueError):
    pass


def _field(record: dict[str, object], name: str, *, required: bool) -> str | None:
    value = record.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise _BadLine(f"{name!r} must be a string")
    return value


def _classify_line(line: str, classifier: Classifier) -> dict[str, object]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _BadLine(f"not JSON ({exc.msg})") from None
    except RecursionError:  # the parser recurses once per level of nesting
        raise _BadLine("not JSON (nested too deeply)") from None
    except ValueError as exc:  # a number of more digits than Python converts to an int
        raise _BadLine(f"not JSON ({exc})") from None
    if not isinstance(record, dict):
        raise _BadLine("expected a JSON object")
    title = _field(record, "title", required=True) or ""
    summary = _field(record, "summary", required=True) or ""
    lang = _field(record, "lang", required=False)
    link = _field(record, "link", required=False)
    verdict = classifier.classify(title, summary, lang)
    out: dict[str, object] = {
        "relevant": verdict.relevant,
        "score": verdict.score,
        "countries": list(verdict.countries),
        "action": verdict.action,
        "reasons": list(verdict.reasons),
    }
    if link is not None:
        out["link"] = link
    return out


def run_classify(stdin: TextIO, stdout: TextIO, classifier: Classifier) -> int:
    """Classify each JSON line of `stdin` onto `stdout`; 1 if any line was bad, else 0."""
    status = 0
    for number, line in enumerate(stdin, start=1):
        if not line.strip():
            continue
        try:
            result = _classify_line(line, classifier)
        except _BadLine as exc:
            result = {"error": f"line {number}: {exc}"}
            status = 1
        stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    return status
