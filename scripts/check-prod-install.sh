#!/usr/bin/env bash
# A production install from a fresh clone must start: `npm install --omit=dev && npm start`
# builds dist/ (TypeScript is a dependency for that) and listens. Run by .ci/run before
# `npm ci`, which would install the dev tools and hide a missing dependency.
# Clones the committed HEAD of this repository; extra npm flags may be given (--offline).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "check-prod-install: $*" >&2
  [ -f "$work/log" ] && tail -n 30 "$work/log" >&2
  exit 1
}

git clone -q "$repo" "$work/baton"
cd "$work/baton"
npm install --omit=dev --no-audit --no-fund "$@" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log" >&2; fail "npm install --omit=dev failed"; }
[ ! -e node_modules/eslint ] || fail "npm install --omit=dev installed dev dependencies"

# npm passes no descriptor past stderr to the script, so readiness is the log line.
npm start -- --host 127.0.0.1 --amqp-port 0 --http-port 0 --prometheus-port 0 \
  --data-dir "$work/data" >"$work/log" 2>&1 &
pid=$!
# The control socket starts last, after every network listener.
for _ in $(seq 1 240); do
  grep -q 'control socket at' "$work/log" && break
  kill -0 "$pid" 2>/dev/null || fail "npm start exited before the broker listened"
  sleep 0.5
done
grep -q 'control socket at' "$work/log" || fail "the broker did not start within 120 s"
grep -q 'amqp listening on' "$work/log" || fail "no 'amqp listening' log line"
grep -q 'http listening on' "$work/log" || fail "no 'http listening' log line"
# SIGTERM to the broker itself (npm would answer one with 143 without waiting for it); its
# pid from the control socket's ping. npm then exits with the broker's status.
broker=$(node --input-type=module -e "
  const { controlRequest } = await import('./dist/src/protocol/control/client.js');
  process.stdout.write(String((await controlRequest('$work/data/baton.sock', { op: 'ping' })).pid));
") || fail "the control socket did not answer a ping"
kill -TERM "$broker"
status=0
wait "$pid" || status=$?
pid=
[ "$status" -eq 0 ] || fail "npm start exited with $status after SIGTERM to the broker"
grep -q 'stopped' "$work/log" || fail "no 'stopped' log line after SIGTERM"
echo "check-prod-install: npm install --omit=dev && npm start: $(grep -o 'amqp listening on [^ ]*' "$work/log"), then a clean stop"
