#!/usr/bin/env bash
# Builds the JupyterLab extension (extension/) into llmops_nb/labextension, which is committed prebuilt so a
# fresh clone needs no node for `make demo`.
#
#   bash extension/build.sh          rebuild only when a hash of the sources differs from
#                                    llmops_nb/labextension/build-source.sha256 (silent when equal)
#   bash extension/build.sh --test   the TypeScript unit tests (vitest, jsdom)
#
# node (>= 20) and jlpm (JupyterLab's yarn, in .venv/bin) are needed only to rebuild or test.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
out="$root/llmops_nb/labextension"
hashfile="$out/build-source.sha256"
export PATH="$root/.venv/bin:$PATH"

# the sources the built output depends on (tests and this script excluded)
source_hash() {
  (
    cd "$here"
    {
      find src style -type f -print
      ls package.json tsconfig*.json yarn.lock .yarnrc.yml 2>/dev/null
    } | LC_ALL=C sort | while IFS= read -r f; do
      printf '%s  %s\n' "$(sha256sum < "$f" | cut -d' ' -f1)" "$f"
    done | sha256sum | cut -d' ' -f1
  )
}

need_node() {
  if ! command -v node >/dev/null 2>&1; then
    echo "extension/build.sh: node (>= 20) is needed to build the JupyterLab extension; install it (apt-get install nodejs, or conda install -c conda-forge nodejs) and run make again" >&2
    exit 1
  fi
  if ! command -v jlpm >/dev/null 2>&1; then
    echo "extension/build.sh: jlpm (JupyterLab's yarn) is missing; run make install first (it comes with jupyterlab in .venv)" >&2
    exit 1
  fi
}

# installs node_modules when missing or older than package.json / yarn.lock
ensure_modules() {
  local immutable="$1" state="$here/node_modules/.yarn-state.yml"
  if [[ -f "$state" && ! "$here/package.json" -nt "$state" && ! ( -f "$here/yarn.lock" && "$here/yarn.lock" -nt "$state" ) ]]; then
    return 0
  fi
  local args=()
  if [[ "$immutable" == 1 && -f "$here/yarn.lock" ]]; then
    args=(--immutable)
  fi
  echo "extension/build.sh: installing node modules (jlpm install ${args[*]:-})"
  local log
  log="$(mktemp)"
  if ! (cd "$here" && jlpm install "${args[@]}") >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    rm -f "$log"
    echo "extension/build.sh: jlpm install failed (the npm registry must be reachable on a first build)" >&2
    exit 1
  fi
  rm -f "$log"
  touch "$state"
}

if [[ "${1:-}" == "--test" ]]; then
  need_node
  ensure_modules 1
  cd "$here"
  exec jlpm test
fi

if [[ -f "$hashfile" && "$(source_hash)" == "$(cat "$hashfile")" && -f "$out/package.json" ]]; then
  exit 0
fi

need_node
ensure_modules 0
echo "extension/build.sh: the extension's sources changed; building llmops_nb/labextension"
log="$(mktemp)"
if ! (cd "$here" && jlpm build:prod) >"$log" 2>&1; then
  tail -n 60 "$log" >&2
  rm -f "$log"
  echo "extension/build.sh: the build failed" >&2
  exit 1
fi
rm -f "$log"
source_hash >"$hashfile"
echo "extension/build.sh: built $(ls "$out/static" | wc -l) files into llmops_nb/labextension"
