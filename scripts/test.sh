#!/usr/bin/env bash
# The one test command (`npm test`): prepares everything it needs on a fresh machine, then runs every check.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

if [ "${SKIP_INSTALL:-0}" != "1" ]; then
  step "npm ci"
  npm ci --no-audit --no-fund
fi

if [ ! -x /usr/bin/chromium ]; then
  step "installing Debian's chromium (end-to-end tests need it)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  step "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  step "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 30); do (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && break; sleep 1; done
fi

step "typecheck"
npx tsc -p tsconfig.json --noEmit

step "browser helper: src/browser/webauthn.generated.ts is a fresh compile of src/browser/webauthn.ts"
node scripts/build-browser.mjs --check

step "lint and format (biome)"
npx biome check .

step "packed tarball: npm pack builds it (prepack: npm run build, ESM + CommonJS); it imports from both, serves webauthn.js"
node scripts/check-pack.mjs

step "unit, HTTP, store and browser tests"
npx tsx --test --test-concurrency=1 --test-reporter=spec \
  test/*.test.ts test/browser/*.test.ts || status=$?
exit "${status:-0}"
