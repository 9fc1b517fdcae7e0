#!/usr/bin/env bash
# Lints the dashboard's files (Sources/TetherCoordinator/HTTP/Dashboard/Resources): each script,
# and all of them joined as the page embeds them, parse as strict JavaScript (node --check);
# index.html has each placeholder once, unique ids, and no inline handlers or style attributes
# (the Content-Security-Policy would block them).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=Sources/TetherCoordinator/HTTP/Dashboard/Resources
if ! command -v node >/dev/null; then
    [ "$(id -u)" = 0 ] || { echo "lint-dashboard: node not found (apt-get install -y nodejs)" >&2; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null
fi
joined="$(mktemp -t tether-dashboard.XXXXXX.js)"
trap 'rm -f "$joined"' EXIT
for file in core charts workers runs cluster main; do
    node --check "$dir/$file.js"
    cat "$dir/$file.js" >> "$joined"
done
node --check "$joined"
python3 - "$dir" <<'PY'
import html.parser, re, sys
directory = sys.argv[1]
page = open(f"{directory}/index.html", encoding="utf-8").read()
problems = []
for placeholder in ("{{style}}", "{{script}}"):
    if page.count(placeholder) != 1:
        problems.append(f"{placeholder} appears {page.count(placeholder)} times")
class Checker(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()
    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id":
                if value in self.ids:
                    problems.append(f"duplicate id '{value}'")
                self.ids.add(value)
            if name.startswith("on") or name == "style":
                problems.append(f"<{tag} {name}=…> is blocked by the Content-Security-Policy")
checker = Checker()
checker.feed(page)
script = "".join(open(f"{directory}/{name}.js", encoding="utf-8").read() for name in ("core", "charts", "workers", "runs", "cluster", "main"))
for used in sorted(set(re.findall(r"\$\('([a-z0-9-]+)'\)", script))):
    # An id the script creates itself (`<button id="cancel-run">` in a template) counts too.
    if used not in checker.ids and f'id="{used}"' not in script:
        problems.append(f"the script reads #{used}, which index.html does not have")
if problems:
    sys.exit("lint-dashboard: " + "; ".join(problems))
PY
echo "dashboard: the scripts parse; index.html is consistent"
