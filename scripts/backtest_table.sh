#!/bin/bash
# usage: scripts/backtest_table.sh RUN... (names under runs/); prints a markdown table of the 30 % backtest relative error per run and model.
cd "$(dirname "$0")/.."
models="area_power_law annealing power_law exponential"
echo "| run | schedule | val_loss actual | area_power_law | annealing | power_law | exponential | area_power_law on train_loss |"
echo "|---|---|---|---|---|---|---|---|"
for r in "$@"; do
  kind=$(grep -A1 '^schedule:' runs/$r/recipe.yaml | tail -n1 | sed 's/ *kind: //')
  lr=$(grep -A1 '^optim:' runs/$r/recipe.yaml | tail -n1 | sed 's/ *lr: //' | python3 -c "print('%.0e' % float(input()))")
  row="| $r | $kind, lr $lr |"
  first=1
  for m in $models; do
    out=$(.build/release/pretrain predict runs/$r --backtest --model $m 2>&1)
    if [ $first = 1 ]; then row="$row $(echo "$out" | sed 's/.*actual \([0-9.]*\),.*/\1/') |"; first=0; fi
    row="$row $(echo "$out" | sed 's/.*relative error \([-+0-9.]*\) %.*/\1 %/') |"
  done
  row="$row $(.build/release/pretrain predict runs/$r --backtest --metric train_loss 2>&1 | sed 's/.*relative error \([-+0-9.]*\) %.*/\1 %/') |"
  echo "$row"
done
row="| median abs. | | |"
for m in $models; do
  row="$row $(.build/release/pretrain predict $(printf 'runs/%s ' "$@") --backtest --model $m | tail -n1 | sed 's/.*: //') |"
done
row="$row $(.build/release/pretrain predict $(printf 'runs/%s ' "$@") --backtest --metric train_loss | tail -n1 | sed 's/.*: //') |"
echo "$row"
