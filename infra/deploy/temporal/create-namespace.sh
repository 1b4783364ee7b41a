#!/bin/sh
# One-shot job once the Temporal server answers: the namespace Retain runs in, and Retain's search
# attributes (the names and types of RUN_SEARCH_ATTRIBUTES, workflows/src/search-attributes.ts; a
# test checks they match). The CLI and workers also add the attributes when they connect, but a new
# attribute reaches the server's frontends only when their cache refreshes, so adding them here
# lets the first `retain run` use them at once. Safe to run again: an existing namespace is kept,
# and adding an attribute that exists with the same type succeeds.
set -eu
address="${TEMPORAL_ADDRESS:-temporal:7233}"
namespace="${TEMPORAL_NAMESPACE:-default}"
# How long Temporal keeps a finished run's history (and so its result for `retain result`).
retention="${RETENTION:-720h}"
temporal="${TEMPORAL_CLI:-temporal}"
# retry N WHY CMD...: runs CMD every 2 s until it succeeds, at most N times; then prints WHY, or
# CMD's last output when WHY is empty, and exits 1.
retry() {
  tries=$1 why=$2
  shift 2
  until out=$("$@" 2>&1); do
    tries=$((tries - 1))
    if [ "$tries" -le 0 ]; then
      echo "${why:-$out}" >&2
      exit 1
    fi
    sleep 2
  done
}
retry 60 "the Temporal server at $address did not answer within 2 minutes" \
  "$temporal" operator cluster health --address "$address"
if ! "$temporal" operator namespace describe -n "$namespace" --address "$address" >/dev/null 2>&1; then
  "$temporal" operator namespace create -n "$namespace" --retention "$retention" --address "$address"
fi
# A new namespace reaches the server's namespace cache within seconds: retry until it has.
retry 30 "" "$temporal" operator search-attribute create --namespace "$namespace" --address "$address" \
  --name RetainSpec --type Keyword \
  --name RetainMethod --type Keyword \
  --name RetainQuantizers --type KeywordList \
  --name RetainStatus --type Keyword \
  --name RetainSweep --type Keyword
echo "namespace $namespace ready on $address"
