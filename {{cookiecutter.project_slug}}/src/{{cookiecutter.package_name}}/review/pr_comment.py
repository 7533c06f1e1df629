"""Post the pipeline report as one pull-request comment, updated on every push.

    python src/<package>/review/pr_comment.py --pr 12 pipeline-report/report.md

The comment is found again by a hidden marker, so each push edits it instead of adding
another. Standard library only: the pipeline workflow runs this file from the base
branch, with a token that may write comments, without installing (or running) the pull
request's code. Reads GITHUB_TOKEN, GITHUB_REPOSITORY and GITHUB_API_URL.
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

MARKER = "<!-- pipeline-report -->"
MAX_BODY = 65_000  # GitHub refuses comment bodies over 65,536 characters
PAGE_SIZE = 100


def call(method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
    """One request to the repository's REST API; a refusal ends the run with its reason."""
    api = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    request = urllib.request.Request(
        f"{api}/repos/{os.environ['GITHUB_REPOSITORY']}{path}",
        method=method,
        data=None if payload is None else json.dumps(payload).encode(),
        headers={
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {os.environ['GITHUB_TOKEN']}",
            "X-GitHub-Api-Version": "2022-11-28",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")[:500]
        message = f"error: GitHub answered {error.code} to {method} {path}: {detail}"
        raise SystemExit(message) from None


def find_comment(pull_request: int) -> int | None:
    """The id of the comment that carries the marker, if there is one yet."""
    page = 1
    while True:
        comments = call("GET", f"/issues/{pull_request}/comments?per_page={PAGE_SIZE}&page={page}")
        marked = [c["id"] for c in comments if MARKER in (c.get("body") or "")]
        if marked or len(comments) < PAGE_SIZE:
            return marked[0] if marked else None
        page += 1


def comment_body(report: str) -> str:
    body = report if MARKER in report else f"{MARKER}\n{report}"
    if len(body) > MAX_BODY:
        note = "\n\n_(cut short: the whole report is in the job summary and the artifact)_"
        body = body[: MAX_BODY - len(note)] + note
    return body


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="the Markdown report to post")
    parser.add_argument("--pr", type=int, required=True, help="pull request number")
    args = parser.parse_args(argv)
    missing = [name for name in ("GITHUB_TOKEN", "GITHUB_REPOSITORY") if not os.environ.get(name)]
    if missing:
        raise SystemExit(f"error: {' and '.join(missing)} not set (GitHub Actions sets them)")
    if not args.report.is_file():
        raise SystemExit(f"error: {args.report} not found: the report step did not write it")
    body = {"body": comment_body(args.report.read_text(encoding="utf-8"))}
    existing = find_comment(args.pr)
    if existing is None:
        call("POST", f"/issues/{args.pr}/comments", body)
    else:
        call("PATCH", f"/issues/comments/{existing}", body)
    outcome = "created" if existing is None else "updated"
    print(f"{outcome} the report comment on pull request #{args.pr}")


if __name__ == "__main__":
    main()
