"""Refuse answers that would produce a broken project, before anything is written.

Each message names the prompt and the rule it breaks. Exiting non-zero here makes
cookiecutter stop and remove the (still empty) project directory.
"""

import json
import keyword
import re
import sys

# Every answer (and cookiecutter's own entries), rendered once as a JSON string.
ANSWERS = json.loads(r"""{{ cookiecutter | jsonify }}""")
# Kept in step with cookiecutter.json by the template's render tests.
CHOICES = {
    "python_version": ["3.10", "3.11", "3.12", "3.13"],
    "task": ["classification", "regression"],
    "demo_data": ["penguins", "none"],
    "operations": ["yes", "no"],
    "license": ["MIT", "Apache-2.0", "BSD-3-Clause", "none"],
    "dvc_remote": ["demo", "s3", "gs", "azure", "ssh", "local"],
}

SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
PACKAGE = re.compile(r"^[a-z][a-z0-9_]*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# What a remote URL must look like, per dvc_remote, with an example for the message.
REMOTE_URLS = {
    "s3": (re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/\S*)?$"), "s3://bucket/path"),
    "gs": (re.compile(r"^gs://[a-z0-9][a-z0-9._-]{1,61}[a-z0-9](/\S*)?$"), "gs://bucket/path"),
    "azure": (
        re.compile(r"^azure://[a-z0-9][a-z0-9-]{1,61}[a-z0-9](/\S*)?$"),
        "azure://container/path",
    ),
    "ssh": (re.compile(r"^ssh://([^@/\s]+@)?[^@/:\s]+(:\d+)?/\S+$"), "ssh://user@host/path"),
    "local": (re.compile(r"^/\S*[^/\s]$"), "/absolute/path/outside/the/repository"),
}
# Names the generated project imports: a package called one of these would shadow it.
DEPENDENCIES = {
    "cruft", "dvc", "fastapi", "gto", "httpx", "httpx2", "hydra", "numpy", "omegaconf", "pandas",
    "pandera", "pyarrow", "pydantic", "pytest", "scipy", "sklearn", "skops", "uvicorn", "yaml",
    "tests",
}


def problems(answers):
    """Every rule the answers break, as 'prompt: what is wrong' lines."""
    found = []
    for prompt, allowed in CHOICES.items():
        if answers[prompt] not in allowed:
            found.append(f"{prompt}: {answers[prompt]!r} is not one of {', '.join(allowed)}")
    if not answers["project_name"].strip():
        found.append("project_name: must not be empty")
    slug = answers["project_slug"]
    if not SLUG.match(slug):
        found.append(
            f"project_slug: {slug!r} must be lowercase letters and digits, starting with a "
            "letter, with single hyphens between words (for example 'penguins-ml')"
        )
    package = answers["package_name"]
    if not PACKAGE.match(package):
        found.append(
            f"package_name: {package!r} must be a Python identifier of lowercase letters, "
            "digits and underscores, starting with a letter (for example 'penguins_ml')"
        )
    elif keyword.iskeyword(package):
        found.append(f"package_name: {package!r} is a Python keyword")
    elif package in sys.stdlib_module_names:
        found.append(f"package_name: {package!r} would shadow the standard library module")
    elif package in DEPENDENCIES:
        found.append(f"package_name: {package!r} would shadow a package the project imports")
    found += remote_problems(answers["dvc_remote"], answers["remote_url"])
    email = answers["author_email"]
    if email and not EMAIL.match(email):
        found.append(f"author_email: {email!r} is not an email address")
    for prompt in ("project_name", "description", "author_name"):
        # These land inside TOML strings and Python docstrings.
        if any(character in answers[prompt] for character in '\n"\\'):
            found.append(
                f"{prompt}: {answers[prompt]!r} must be one line without double quotes "
                "or backslashes"
            )
    return found


def remote_problems(remote, url):
    """remote_url must suit dvc_remote; the demo remote is a fixed folder and takes none."""
    if remote == "demo":
        if url:
            return [
                f"remote_url: {url!r} is not used with dvc_remote=demo (the demo remote is "
                "the dvc-demo-remote/ folder inside the project); leave it empty"
            ]
        return []
    if remote not in REMOTE_URLS:
        return []  # already reported as an unknown choice
    pattern, example = REMOTE_URLS[remote]
    if not pattern.match(url):
        return [f"remote_url: {url!r} is not a {remote} URL; expected the form {example}"]
    return []


def main():
    found = problems(ANSWERS)
    if found:
        print("error: cannot generate the project; fix these answers:", file=sys.stderr)
        for line in found:
            print(f"  - {line}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
