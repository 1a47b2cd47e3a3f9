#!/bin/sh
# The container's entry point: create the instance on the first start (in the volume), then
# exec pki serve so it is PID 1's only child and gets SIGTERM from `docker stop`.
# PKI_URL is the plain-HTTP base URL written into every certificate: set it once, for good.
set -eu
PKI="node ${PKI_HOME:-/opt/pki}/bin/pki.js"
PASS=""
[ -f "$PKI_PASSPHRASE_FILE" ] && PASS="--passphrase-file $PKI_PASSPHRASE_FILE"
if [ ! -f "$PKI_DIR/pki.json" ]; then
  # With no passphrase file, pki init generates one into the instance's secrets/ (mode 0600).
  $PKI init --dir "$PKI_DIR" --name "${PKI_NAME:-Internal CA}" --url "$PKI_URL" $PASS
fi
# 0.0.0.0 inside the container's own network namespace: the published ports decide who reaches it.
exec $PKI serve --dir "$PKI_DIR" --host 0.0.0.0 $PASS "$@"
