#!/usr/bin/env bash
# Benchmark (not a test): tally convert vs the tools a user would reach for instead, on the same
# synthetic FOCUS 1.2 CSV. Prints wall time and peak memory of each, and tally's ratio to each.
#   bash bench/run.sh [ROWS]        (default 1,000,000 rows, about 1 GB; try 10000000)
# Peers (installed into a throwaway virtualenv under bench-data/): DuckDB and Python Polars, each
# converting the whole CSV to Parquet with the cost columns as DECIMAL(38, 18); and, as the
# floor, DuckDB reading the file once to sum BilledCost by ServiceName.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
data=bench-data
mkdir -p "$data"
csv="$data/focus-$rows.csv"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tally/target}"

if [ ! -s "$csv" ]; then
    echo "generating $rows rows into $csv" >&2
    python3 bench/gen_focus.py "$rows" "$csv.tmp" 2> "$csv.sums"
    mv "$csv.tmp" "$csv"
fi
cat "$csv.sums" >&2

if [ ! -x "$data/venv/bin/python" ]; then
    python3 -m venv "$data/venv"
    "$data/venv/bin/pip" install -q duckdb polars >&2
fi
cargo build --release --locked >&2
tally="$CARGO_TARGET_DIR/release/tally"

costs="BilledCost EffectiveCost ListCost ContractedCost ListUnitPrice ContractedUnitPrice ConsumedQuantity PricingQuantity CommitmentDiscountQuantity PricingCurrencyContractedUnitPrice PricingCurrencyEffectiveCost PricingCurrencyListUnitPrice"
py_costs=$(printf '"%s",' $costs)

# measure NAME CMD...: runs CMD under /usr/bin/time, records wall seconds and peak RSS (MB).
declare -A wall rss
measure() {
    local name=$1; shift
    local log="$data/time-$name.log"
    sync; /usr/bin/time -v "$@" > "$data/out-$name.txt" 2> "$log" || { cat "$log" >&2; echo "$name failed" >&2; exit 1; }
    local e; e=$(grep 'Elapsed (wall clock)' "$log" | awk '{print $NF}')
    wall[$name]=$(python3 -c "p='$e'.split(':'); print(round(sum(float(x)*60**i for i,x in enumerate(reversed(p))),2))")
    rss[$name]=$(grep 'Maximum resident set size' "$log" | awk '{print int($NF/1024)}')
    printf '%-16s %8.2f s %8d MB\n' "$name" "${wall[$name]}" "${rss[$name]}" >&2
}

measure tally "$tally" -q convert --from focus -o "$data/tally.parquet" "$csv"
grep -E 'rows|BilledCost' "$data/out-tally.txt" >&2
measure duckdb "$data/venv/bin/python" - <<PY
import duckdb
costs = [$py_costs]
con = duckdb.connect()
cols = con.execute("SELECT * FROM read_csv('$csv', all_varchar=true) LIMIT 0").description
sel = ", ".join(f'CAST("{c[0]}" AS DECIMAL(38,18)) AS "{c[0]}"' if c[0] in costs else f'"{c[0]}"' for c in cols)
con.execute(f"COPY (SELECT {sel} FROM read_csv('$csv', all_varchar=true)) TO '$data/duckdb.parquet' (FORMAT parquet)")
PY
measure polars "$data/venv/bin/python" - <<PY
import polars as pl
costs = [$py_costs]
pl.scan_csv("$csv", infer_schema=False, schema_overrides={c: pl.Decimal(38, 18) for c in costs}).sink_parquet("$data/polars.parquet")
PY
measure floor "$data/venv/bin/python" - <<PY
import duckdb
print(duckdb.sql("SELECT ServiceName, sum(CAST(BilledCost AS DECIMAL(38,18))) FROM read_csv('$csv', all_varchar=true) GROUP BY 1").fetchall()[:1])
PY

echo
printf '%-16s %10s %10s %14s %14s\n' tool "wall (s)" "peak (MB)" "tally/tool t" "tally/tool mem"
for n in tally duckdb polars floor; do
    printf '%-16s %10.2f %10d %14.2f %14.2f\n' "$n" "${wall[$n]}" "${rss[$n]}" \
        "$(python3 -c "print(${wall[tally]}/${wall[$n]})")" "$(python3 -c "print(${rss[tally]}/${rss[$n]})")"
done
rm -f "$data"/*.parquet

# Allocation: the same file through `tally run` (ledger, 50 projects, 10 cascading pools,
# reports) against the convert step alone.
python3 bench/gen_allocation_pipeline.py "$csv" "$data/allocation.toml"
rm -rf "$data/alloc-out"
measure run "$tally" -q run "$data/allocation.toml" --out "$data/alloc-out"
echo
printf 'tally run (allocation) %8.2f s %8d MB   convert alone %8.2f s %8d MB\n' "${wall[run]}" "${rss[run]}" "${wall[tally]}" "${rss[tally]}"
rm -rf "$data/alloc-out"
