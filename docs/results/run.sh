#!/bin/bash
# One full encrypted training run with the `hetal` command line, as in docs/RESULTS.md:
# keygen, encrypt, the server's `train --follow` beside the client's `decrypt validation`
# answers until the client says stop, then `decrypt model` and `evaluate`.
#
#   docs/results/run.sh RUN_DIR DATASET_DIR LR BATCH MAX_EPOCHS [SEED]
#
# RUN_DIR gets a copy of the `hetal` binary (so that a rebuild does not change a run under
# way), keys/, job/, run.log (each phase's timestamp and output), server.log (the server's
# steps) and GNU time's peak-memory files. Resumable: run it again with
# the same arguments after any interruption; the server goes on with `--resume` from its last
# checkpointed step (run.log says so). Preset bootstrap-n16 (128-bit, real bootstrapping;
# PRESET=bootstrap-n16-compact in the environment for the compact key set; the compact softmax
# is keygen's default for 2 classes, KEYGEN_ARGS=--no-compact-softmax leaves it out and
# KEYGEN_ARGS=--compact-softmax asks for it above 2), patience 3, the default softmax
# (logistic for 2 classes, normalize-and-square otherwise; ENCRYPT_ARGS="--softmax NAME" for
# another). Keys are seeded (SEED, default 19)
# so that a run can be repeated: never do that with real data.
set -o pipefail
RUN=$1; DATA=$2; LR=$3; BATCH=$4; MAX=$5; SEED=${6:-19}
[ -n "$MAX" ] || { echo "usage: $0 RUN_DIR DATASET_DIR LR BATCH MAX_EPOCHS [SEED]"; exit 2; }
HERE=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$RUN" && cd "$RUN" || exit 1
exec >> run.log 2>&1   # every phase's timestamp and output, for docs/results/collect.py
[ -x ./hetal ] || cp "$HERE/target/release/hetal" ./hetal || exit 1
H=./hetal
T="/usr/bin/time -v"
log() { echo "=== $* $(date -u +%FT%TZ)"; }
if [ ! -f keys/public.hbundle ]; then
  # The preset of the runs in docs/RESULTS.md, named: keygen's default is now the compact key set.
  log keygen; $T $H --seed "$SEED" keygen --preset "${PRESET:-bootstrap-n16}" --data "$DATA" --batch "$BATCH" \
    --out keys $KEYGEN_ARGS 2> keygen.time || exit 1
fi
if [ ! -f job/job.json ]; then
  log encrypt
  $T $H --seed "$SEED" encrypt --secret-key keys/secret.hkey --data "$DATA" --lr "$LR" --patience 3 \
    --max-epochs "$MAX" --job job $ENCRYPT_ARGS 2> encrypt.time || exit 1
fi
if [ ! -f job/server/model.hmat ]; then
  if [ -f job/server/state.hckpt ]; then R=--resume; else R=; fi
  log train --follow $R
  n=$(ls server*.time 2>/dev/null | wc -l)
  $T $H -v train --job job --keys keys/public.hbundle --follow --poll 1 $R >> server.log 2> "server$n.time" &
  SERVER=$!
  # The client: answer each epoch whose validation outputs are there and unanswered (a failed
  # try, such as the server holding the job's lock for a moment, is tried again).
  while kill -0 $SERVER 2>/dev/null; do
    last=$(ls job/server/validation-*.hmat 2>/dev/null | sort | tail -1)
    if [ -n "$last" ]; then
      e=$(basename "$last" .hmat); e=${e#validation-}
      if [ ! -f "job/client/answer-$e.json" ]; then
        log decrypt "$e"
        $H decrypt validation --job job --secret-key keys/secret.hkey || log "decrypt $e failed; trying again"
      fi
    fi
    sleep 1
  done
  wait $SERVER || { log server failed; exit 1; }
fi
log model
[ -f model.npy ] || $H decrypt model --job job --secret-key keys/secret.hkey --out model.npy || exit 1
[ -f evaluation.json ] || $H evaluate --job job --model model.npy --report evaluation.json || exit 1
log done
