#!/bin/sh
# Renders a `phpasync bench --json` result as the HTML report and screenshots it with a
# headless Chromium at 1280 px and 400 px wide, to look at the page before calling a report
# change done. A manual check, not part of CI: it needs chromium (Debian: apt-get install
# chromium) and a built dist/ (npx tsc -p tsconfig.json).
#   scripts/report-screenshot.sh [result.json] [out-dir]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
json=${1:-$root/test/fixtures/bench-result.json}
out=${2:-$(mktemp -d /tmp/phpasync-report-XXXXXX)}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
  echo "report-screenshot: no chromium, chromium-browser or google-chrome on PATH" >&2
  exit 1
fi
mkdir -p "$out"
node -e '
  const fs = require("fs");
  import(process.argv[1]).then((m) => fs.writeFileSync(process.argv[3], m.formatHtml(JSON.parse(fs.readFileSync(process.argv[2], "utf8")))));
' "$root/dist/src/bench/html.js" "$json" "$out/report.html"
for width in 1280 400; do
  # A tall window: headless Chromium screenshots the window, not the whole page.
  timeout 60 "$browser" --headless=new --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
    --window-size="$width,4000" --screenshot="$out/report-$width.png" "file://$out/report.html" >/dev/null 2>&1
done
echo "$out/report.html $out/report-1280.png $out/report-400.png"
