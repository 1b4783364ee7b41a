#!/usr/bin/env bash
# Regenerates docs/results with Retain's own commands, from the sweep specs in examples/sweeps/:
#
#   retain sweep examples/sweeps/<name>.yaml --out docs/results/<name>      -> sweep.json, sweep.csv
#   retain report docs/results/<name>/sweep.json --out docs/results/<name>/tables.md
#
# Usage (from anywhere, after `npm run build`):
#   docs/results/regenerate.sh [methods|quantization|protocols|language|all] [--tables-only]
#
#   methods        the three methods sweeps (docs/results/methods.md; about 22 min on 2 cores)
#   quantization   the two quantization sweeps (docs/results/quantization.md; 8.5 min on 2 cores)
#   protocols      the published protocols of examples/sweeps/protocols/ (docs/results/protocols.md)
#   language       the causal-LM sweep (docs/results/language.md)
#   all            the four (the default)
#   --tables-only  run nothing: rewrite each tables.md from the sweep.json already there
#
# WORKERS=N (default 2) trains N cells at once: `retain sweep` runs one worker slot itself and
# this script starts N-1 `retain worker`s beside it (stopped when it ends). The results do not
# depend on N: each cell is a pure function of its spec and seed. The environment chooses the
# Temporal server as for every retain command (an embedded dev server unless TEMPORAL_ADDRESS is
# set; RETAIN_HOME, RETAIN_TEMPORAL_PORT); the embedded one is left running at the end (stop it
# with `retain server-stop`). With a shared server, start workers on other machines too.
#
# The hand-written documents (methods.md, quantization.md, protocols.md) are never written here:
# they quote and explain the generated tables.
set -euo pipefail
cd "$(dirname "$0")/../.."

retain=(node packages/cli/bin/retain.js)

which=all
tables_only=false
for arg in "$@"; do
  case "$arg" in
    methods | quantization | protocols | language | all) which=$arg ;;
    --tables-only) tables_only=true ;;
    *)
      echo "regenerate.sh: unknown argument '$arg'; use methods, quantization, protocols, language or all, and optionally --tables-only" >&2
      exit 2
      ;;
  esac
done

sweeps=()
[[ $which == methods || $which == all ]] && sweeps+=(methods-permuted-fmnist methods-split-fmnist-task-il methods-split-fmnist-class-il)
[[ $which == quantization || $which == all ]] && sweeps+=(quantization-permuted-fmnist quantization-split-fmnist)
[[ $which == protocols || $which == all ]] && sweeps+=(protocols/agem-permuted protocols/hsu-split protocols/vandeven-split)
[[ $which == language || $which == all ]] && sweeps+=(language)

workers=()
# shellcheck disable=SC2317 # called by the EXIT trap
stop_workers() {
  # TERM, not INT: a background job of a script starts with SIGINT ignored.
  for pid in "${workers[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${workers[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_workers EXIT
if [[ $tables_only == false ]]; then
  # One server for every sweep and worker (left running: `retain server-stop` stops it).
  "${retain[@]}" server
  for ((i = 1; i < ${WORKERS:-2}; i++)); do
    "${retain[@]}" worker &
    workers+=("$!")
  done
fi

# A sweep with failed cells exits 1 but still writes sweep.json: its tables list those cells.
status=0
for name in "${sweeps[@]}"; do
  out="docs/results/$name"
  if [[ $tables_only == false ]]; then
    "${retain[@]}" sweep "examples/sweeps/$name.yaml" --out "$out" || status=$?
  elif [[ ! -f $out/sweep.json ]]; then
    echo "regenerate.sh: $out/sweep.json is not there yet (run without --tables-only to make it); skipped" >&2
    continue
  fi
  "${retain[@]}" report "$out/sweep.json" --out "$out/tables.md"
done
exit "$status"
