#!/usr/bin/env bash
# Packs pkg/ with `npm pack` and uses the tarball as a user would: installed
# into a scratch project, imported by name from Node ESM.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
tarball=$(cd pkg && npm pack --silent --pack-destination "$scratch")
cd "$scratch"
echo '{ "name": "smoke", "private": true, "type": "module" }' > package.json
npm install --no-audit --no-fund --loglevel=error "./$tarball"
cp "$root/tests/pkg/node-smoke.test.mjs" .
node --test node-smoke.test.mjs

# The declarations, type-checked as a TypeScript user would consume them
# (strict, no skipLibCheck: our .d.ts files are checked too).
cp "$root/tests/pkg/types-check.ts" .
# The README's TypeScript tour of every member compiles too.
awk '/^```ts$/{on=1; next} /^```$/{on=0} on' "$root/pkg/README.md" > readme-tour.ts
[ -s readme-tour.ts ] || { echo "pkg-smoke: no TypeScript block in pkg/README.md" >&2; exit 1; }
echo 'export {};' >> readme-tour.ts
cat > tsconfig.json <<'JSON'
{
  "compilerOptions": {
    "strict": true, "noEmit": true, "skipLibCheck": false,
    "target": "es2022", "module": "esnext", "moduleResolution": "bundler",
    "lib": ["es2022", "dom"], "noUnusedLocals": false
  },
  "files": ["types-check.ts", "readme-tour.ts"]
}
JSON
"$root/node_modules/.bin/tsc" -p tsconfig.json
# A Node (server-side rendering) user under nodenext resolution sees the
# Node entry's declarations, which match what Node imports at run time.
cp "$root/tests/pkg/types-check-node.mts" .
cat > tsconfig.node.json <<'JSON'
{
  "compilerOptions": {
    "strict": true, "noEmit": true, "skipLibCheck": false,
    "target": "es2022", "module": "nodenext", "moduleResolution": "nodenext",
    "lib": ["es2022", "dom"], "types": []
  },
  "files": ["types-check-node.mts"]
}
JSON
"$root/node_modules/.bin/tsc" -p tsconfig.node.json
echo "pkg-smoke: declarations type-check (bundler and nodenext)"
