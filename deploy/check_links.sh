#!/usr/bin/env bash
# The repository's docs stand alone (a stage of .ci/run):
# 1. no tracked file (binary files aside) points at documents outside the checkout: a parent's
#    shared folder, or the design and domain briefs by their old file names — Hearth's own are
#    docs/design.md, docs/domain.md and docs/api-conventions.md;
# 2. every relative link in the Markdown docs points at a file that exists, and a link to a
#    heading of a Markdown file at a heading that exists.
# Usage: bash deploy/check_links.sh   (from anywhere; exits 1 naming each bad line)
set -euo pipefail
cd "$(dirname "$0")/.."

status=0

# The patterns are written with a character class so that this file does not match itself.
outside='\.\./share[d]|share[d]/DESIG[N]|share[d]/DOMAI[N]|\bDESIG[N]\.md|\bDOMAI[N]\.md'
# -I skips binary files; only tracked files are searched (the working tree's content).
found=0
hits=$(git grep -n -I -E "${outside}" -- .) || found=$?
case "${found}" in
  0) echo "error: these lines refer to documents outside the repository; point them at docs/ instead:" >&2
     printf '%s\n' "${hits}" | sed 's/^/  /' >&2
     status=1 ;;
  1) ;;  # no match
  *) echo "error: git grep failed (${found})" >&2; exit 2 ;;
esac

# Relative Markdown links: README.md, ARCHITECTURE.md, docs/*.md and every other tracked README.
mapfile -t markdown < <(git ls-files -- README.md ARCHITECTURE.md 'docs/*.md' '*README.md' | sort -u)
python3 - "${markdown[@]}" <<'PY' || status=1
import pathlib
import re
import sys

LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]\n]*\]\(([^)\s]+)\)")
ANCHOR_TAG = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"")


def prose(text):
    """The text without fenced code blocks and inline code, where brackets are not links."""
    blank = lambda block: "\n" * block.group(0).count("\n")  # keeps the line numbers
    text = re.sub(r"^(```|~~~).*?^\1[^\n]*$", blank, text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def slug(heading):
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    heading = re.sub(r"`|\*\*|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", heading).replace(" ", "-")


def anchors(path, cache={}):
    if path not in cache:
        text = path.read_text(encoding="utf-8")
        found, seen = set(ANCHOR_TAG.findall(text)), {}
        for line in prose(text).splitlines():
            match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
            if match:
                base = slug(match.group(1))
                count = seen.get(base, 0)
                seen[base] = count + 1
                found.add(base if count == 0 else f"{base}-{count}")
        cache[path] = found
    return cache[path]


root = pathlib.Path(".").resolve()
bad = []
for name in sys.argv[1:]:
    source = pathlib.Path(name)
    for number, line in enumerate(prose(source.read_text(encoding="utf-8")).splitlines(), 1):
        for match in LINK.finditer(line):
            target = match.group(1) or match.group(2)
            if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("//"):
                continue  # a URL, not a file of the repository
            path, _, anchor = target.partition("#")
            resolved = (source.parent / path).resolve() if path else source.resolve()
            where = f"{name}:{number}: ({target})"
            if root not in resolved.parents and resolved != root:
                bad.append(f"{where} points outside the repository")
            elif not resolved.exists():
                bad.append(f"{where} names a file that does not exist")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                bad.append(f"{where} names a heading that {resolved.relative_to(root)} does not have")
if bad:
    print("error: broken relative links in the Markdown docs:", file=sys.stderr)
    for line in bad:
        print(f"  {line}", file=sys.stderr)
    sys.exit(1)
print(f"{len(sys.argv) - 1} Markdown files: every relative link resolves")
PY

if [ "${status}" -eq 0 ]; then
  echo "no tracked file refers to documents outside the repository"
fi
exit "${status}"
