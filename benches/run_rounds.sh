#!/usr/bin/env bash
cd "$(dirname "$0")/.."
# Three interleaved rounds of both engines at 1 and 2 threads (PyTorch first in odd rounds,
# tapegrad first in even ones), one JSONL file per run; then: python3 benches/compare.py DIR/*.jsonl
D=${1:?usage: benches/run_rounds.sh OUTPUT_DIR}
mkdir -p "$D"
for r in 1 2 3; do
  for t in 1 2; do
    if [ $((r % 2)) -eq 1 ]; then
      python3 ../shared/bench/pytorch_bench.py --threads $t > $D/pytorch_t${t}_r$r.jsonl 2>/dev/null
      cargo run -q --release --example bench -- --threads $t --cases benches/cases.json > $D/tapegrad_t${t}_r$r.jsonl 2>/dev/null
    else
      cargo run -q --release --example bench -- --threads $t --cases benches/cases.json > $D/tapegrad_t${t}_r$r.jsonl 2>/dev/null
      python3 ../shared/bench/pytorch_bench.py --threads $t > $D/pytorch_t${t}_r$r.jsonl 2>/dev/null
    fi
  done
done

