"""Post to GitHub's pull requests: the pipeline report as one comment, or a new one.

    python src/<package>/review/pull_requests.py --pr 12 pipeline-report/report.md
    python src/<package>/review/pull_requests.py --open-from retrain/2026-12-01 \
        --title "Retrain with ..." retrain-summary.md

The report comment is found again by a hidden marker, so each push edits it instead of
adding another. A pull request from a branch that already has an open one is updated,
not opened twice. Standard library only: the workflows run this file with a token that
may write, from the default branch's checkout, without installing (or running) the
code of any pull request. Reads GITHUB_TOKEN, GITHUB_REPOSITORY and GITHUB_API_URL.
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.error
import urllib.parse
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


def ours(comment: dict[str, Any]) -> bool:
    """Whether the bot wrote ``comment``: anyone can paste the marker into their own, and
    the bot may not edit those (GitHub answers 403, and every later push would fail).
    The bot is ``github-actions[bot]`` with the workflow's token; with a personal token,
    set PIPELINE_REPORT_AUTHOR to that account's login."""
    author = os.environ.get("PIPELINE_REPORT_AUTHOR") or "github-actions[bot]"
    body = comment.get("body") or ""
    return (comment.get("user") or {}).get("login") == author and body.startswith(MARKER)


def find_comment(pull_request: int) -> int | None:
    """The id of the bot's own comment that carries the marker, if there is one yet."""
    page = 1
    while True:
        comments = call("GET", f"/issues/{pull_request}/comments?per_page={PAGE_SIZE}&page={page}")
        marked = [c["id"] for c in comments if ours(c)]
        if marked or len(comments) < PAGE_SIZE:
            return marked[0] if marked else None
        page += 1


def shortened(body: str) -> str:
    """``body`` cut to what GitHub accepts, saying where the rest is."""
    if len(body) > MAX_BODY:
        note = "\n\n_(cut short: the whole report is in the job summary and the artifact)_"
        body = body[: MAX_BODY - len(note)] + note
    return body


def comment_body(report: str) -> str:
    return shortened(report if MARKER in report else f"{MARKER}\n{report}")


def comment(pull_request: int, report: str) -> None:
    """Create the report comment, or edit the one an earlier push created."""
    body = {"body": comment_body(report)}
    existing = find_comment(pull_request)
    if existing is None:
        call("POST", f"/issues/{pull_request}/comments", body)
    else:
        call("PATCH", f"/issues/comments/{existing}", body)
    outcome = "created" if existing is None else "updated"
    print(f"{outcome} the report comment on pull request #{pull_request}")


def open_pull_request(branch: str, base: str, title: str, description: str) -> None:
    """Open a pull request from ``branch`` into ``base``, or update the open one."""
    owner = os.environ["GITHUB_REPOSITORY"].split("/")[0]
    head = urllib.parse.quote(f"{owner}:{branch}", safe=":")
    found = call("GET", f"/pulls?head={head}&base={urllib.parse.quote(base)}&state=open")
    content = {"title": title, "body": shortened(description)}
    if found:
        number = found[0]["number"]
        call("PATCH", f"/pulls/{number}", content)
        print(f"updated pull request #{number} from {branch}")
    else:
        created = call("POST", "/pulls", {**content, "head": branch, "base": base})
        print(f"opened pull request #{created['number']} from {branch}: {title}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="Markdown: the comment, or the description")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--pr", type=int, help="comment on this pull request")
    where.add_argument("--open-from", metavar="BRANCH", help="open a pull request from BRANCH")
    parser.add_argument("--base", default="main", help="what --open-from merges into")
    parser.add_argument("--title", help="the title of the pull request --open-from opens")
    args = parser.parse_args(argv)
    if args.open_from and not args.title:
        parser.error("--open-from needs --title")
    missing = [name for name in ("GITHUB_TOKEN", "GITHUB_REPOSITORY") if not os.environ.get(name)]
    if missing:
        raise SystemExit(f"error: {' and '.join(missing)} not set (GitHub Actions sets them)")
    if not args.report.is_file():
        raise SystemExit(f"error: {args.report} not found: the step before did not write it")
    report = args.report.read_text(encoding="utf-8")
    if args.pr is not None:
        comment(args.pr, report)
    else:
        open_pull_request(args.open_from, args.base, args.title, report)


if __name__ == "__main__":
    main()
