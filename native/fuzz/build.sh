#!/usr/bin/env bash
# Builds datapath-fuzz (native/fuzz) under AddressSanitizer and UBSan from the data path's own
# headers (native/src/datapath), with the OpenSSL headers Node ships (as node-gyp builds the
# addon) and the system's libcrypto to link against: outside Node nothing else provides
# OpenSSL's symbols (Debian: libssl-dev, which ./install.sh installs with the test tools).
# Incremental: make rebuilds only what changed. Prints the binary's path.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"
# Where node-gyp found Node's headers: npm_config_nodedir, Node's own prefix, or its download cache.
node_prefix=${npm_config_nodedir:-$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")}
[ -f "$node_prefix/include/node/openssl/evp.h" ] || node_prefix="$HOME/.cache/node-gyp/$(node -p process.versions.node)"
[ -f "$node_prefix/include/node/openssl/evp.h" ] || {
  echo "fuzz build: no OpenSSL headers in Node's include directory (set npm_config_nodedir to Node's prefix)" >&2
  exit 1
}
[ "$(g++ -print-file-name=libcrypto.so)" != libcrypto.so ] || {
  echo "fuzz build: no libcrypto to link against; install libssl-dev (./install.sh does)" >&2
  exit 1
}
make -s -j"$(nproc)" NODE_INCLUDE="$node_prefix/include/node" build/datapath-fuzz >&2
echo "$PWD/build/datapath-fuzz"
