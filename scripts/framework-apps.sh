#!/usr/bin/env bash
# The framework example apps (www-example/react-shop, www-example/vue-shop)
# on the package as users get it: pkg/ packed with `npm pack` into
# target/npm/cartsync.tgz, which both apps name as their `cartsync`
# dependency; `npm ci` from each app's committed lockfile; the
# `cartsync/react` and `cartsync/vue` declarations type-checked against
# them; then a Vite build into each app's dist/ (served by the server in
# the e2e tests).
# The React shop is built with React's development build: StrictMode's
# double mount, which the test checks, exists only there.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f pkg/package.json ] || { echo "framework-apps: pkg/ is missing: run 'make pkg'" >&2; exit 1; }
mkdir -p target/npm
rm -f target/npm/cartsync*.tgz
name=$(cd pkg && npm pack --silent --pack-destination ../target/npm)
mv "target/npm/$name" target/npm/cartsync.tgz

for app in react-shop vue-shop; do
  dir=www-example/$app
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  # A lockfile entry with an `integrity` for the tarball would make npm
  # install its cached copy of an older build: check it is this one.
  for f in web/cartsync_bg.wasm index.js react.js vue.js; do
    cmp -s "pkg/$f" "$dir/node_modules/cartsync/$f" || {
      echo "framework-apps: $dir installed a stale cartsync ($f differs): drop the \"integrity\" of node_modules/cartsync from $dir/package-lock.json" >&2
      exit 1
    }
  done
done
# The React and Vue declarations as users consume them (strict, no
# skipLibCheck) against the apps' installed packages (@types/react for
# React, Vue's own types): one tsc run over a node_modules of links to
# both apps' packages (preserveSymlinks, so cartsync's declarations find
# `vue` and `react` there too).
types=$(mktemp -d "$PWD/target/types-XXXXXX")
trap 'rm -rf "$types"' EXIT
mkdir "$types/node_modules"
for app in react-shop vue-shop; do
  for dep in "$PWD/www-example/$app/node_modules"/*; do
    [ -e "$types/node_modules/${dep##*/}" ] || ln -s "$dep" "$types/node_modules/"
  done
done
cp tests/pkg/types-check-react.tsx tests/pkg/types-check-vue.ts "$types/"
cat > "$types/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "strict": true, "noEmit": true, "skipLibCheck": false, "preserveSymlinks": true, "jsx": "react-jsx",
    "target": "es2022", "module": "esnext", "moduleResolution": "bundler",
    "lib": ["es2022", "dom"], "types": []
  },
  "files": ["types-check-react.tsx", "types-check-vue.ts"]
}
JSON
node_modules/.bin/tsc -p "$types/tsconfig.json"

(cd www-example/react-shop && npm run --silent build:dev -- --logLevel warn)
(cd www-example/vue-shop && npm run --silent build -- --logLevel warn)
echo "framework-apps: built www-example/react-shop/dist and www-example/vue-shop/dist"
