#!/usr/bin/env bash
# One-step set-up of overlay from a checkout: checks Node, installs what is missing, builds the
# native addon and the TypeScript, and puts `overlay` on PATH. Safe to run again: steps whose
# inputs have not changed are skipped.
#
#   ./install.sh                  everything, including the tools the end-to-end tests drive
#   ./install.sh --no-test-tools  skip wireguard-go, wg, iperf3, iptables, ping, tmux, and the
#                                 sanitizer fuzz driver (native/fuzz) with its libssl-dev
set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")"
repo=$(pwd)
want_test_tools=1
for arg in "$@"; do
  case "$arg" in
    --no-test-tools) want_test_tools=0 ;;
    -h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf 'install: %s\n' "$*"; }
die() { printf 'install: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# --- Node.js -------------------------------------------------------------------------------
command -v node >/dev/null || die "Node.js is not installed; overlay needs Node.js >= 20.19 (https://nodejs.org, or your distribution's nodejs package)"
node -e '
  const [maj, min] = process.versions.node.split(".").map(Number);
  if (maj < 20 || (maj === 20 && min < 19)) {
    console.error(`install: Node.js ${process.versions.node} is too old; overlay needs >= 20.19`);
    process.exit(1);
  }' || exit 1
command -v npm >/dev/null || die "npm is missing; install it with your Node.js (e.g. apt-get install npm)"

# --- system packages ---------------------------------------------------------------------------
# command name -> Debian package that provides it
build_tools=(g++:g++ make:make python3:python3)
test_tools=(wireguard-go:wireguard-go wg:wireguard-tools iperf3:iperf3 iptables:iptables ping:iputils-ping
  tmux:tmux ip:iproute2 setpriv:util-linux unshare:util-linux dig:bind9-dnsutils dnsmasq:dnsmasq-base
  nft:nftables miniupnpd:miniupnpd-nftables)
missing=()
for pair in "${build_tools[@]}"; do command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}"); done
if [ "$want_test_tools" = 1 ]; then
  for pair in "${test_tools[@]}"; do command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}"); done
  # The sanitizer fuzz driver (native/fuzz) links the system's libcrypto; the addon needs none.
  if ! command -v g++ >/dev/null || [ "$(g++ -print-file-name=libcrypto.so)" = libcrypto.so ]; then
    missing+=(libssl-dev)
  fi
fi
if [ "${#missing[@]}" -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if is_root && command -v apt-get >/dev/null; then
    say "installing ${missing[*]} with apt"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    die "missing ${missing[*]}; install them (as root: apt-get install ${missing[*]}) or run ./install.sh with sudo"
  fi
fi

# --- npm dependencies (also builds the tun-napi addon through its install script) -------------
# Build against the headers Node ships, when present, so node-gyp need not download them.
if [ -z "${npm_config_nodedir:-}" ]; then
  node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
  [ -f "$node_prefix/include/node/node_api.h" ] && export npm_config_nodedir="$node_prefix"
fi
stamp=node_modules/.overlay-install-stamp
lock_sum=$(sha256sum package-lock.json package.json native/package.json | sha256sum | cut -c1-64)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" >"$stamp"
fi

# --- native addon: rebuild only when its sources are newer than the built module ---------------
addon=native/build/Release/tun_napi.node
if [ ! -f "$addon" ] || [ -n "$(find native/src native/binding.gyp -newer "$addon" -print -quit)" ]; then
  say "building the tun-napi addon"
  npm run --silent build:native >/dev/null
fi

# --- the native parsers' fuzz driver, for the tests (make: rebuilds only what changed) ----------
if [ "$want_test_tools" = 1 ]; then
  say "building the sanitizer fuzz driver"
  native/fuzz/build.sh >/dev/null
fi

# --- TypeScript (incremental: a second run with no changes emits nothing) ----------------------
say "building TypeScript"
npm run --silent build:ts

# --- put overlay on PATH -------------------------------------------------------------------------
target="$repo/dist/cli/main.js"
if is_root; then bindir=/usr/local/bin; else bindir="$HOME/.local/bin"; fi
mkdir -p "$bindir"
if [ "$(readlink "$bindir/overlay" 2>/dev/null)" != "$target" ]; then
  ln -sfn "$target" "$bindir/overlay"
  say "linked $bindir/overlay -> $target"
fi
case ":$PATH:" in
  *":$bindir:"*) ;;
  *) say "note: $bindir is not on your PATH; add it, or run $target" ;;
esac
say "done: $(overlay --version 2>/dev/null || node "$target" --version)"
