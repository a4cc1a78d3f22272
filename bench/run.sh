#!/usr/bin/env bash
# Benchmark (not a test): tally convert vs the tools a user would reach for instead, on the same
# synthetic FOCUS 1.2 CSV. Prints wall time and peak memory of each, and tally's ratio to each.
#   bash bench/run.sh [ROWS]        (default 1,000,000 rows, about 1 GB; try 10000000)
#   BENCH_ONLY=focus|alloc|cur bash bench/run.sh [ROWS]   one section only
#   TALLY=/path/to/tally bash bench/run.sh ...             use that binary, skip `cargo build`
# Peers (installed into a throwaway virtualenv under bench-data/): DuckDB and Python Polars, each
# converting the whole CSV to Parquet with the cost columns as DECIMAL(38, 18); and, as the
# floor, DuckDB reading the file once to sum BilledCost by ServiceName.
# Then (section `cur`) an AWS legacy CUR CSV of ROWS rows (bench/gen_cur.py, about 0.8 GB per million)
# through `tally convert --from aws-cur` against the FinOps Foundation converter (focus-converter,
# PyPI, in its own throwaway virtualenv with the Python it supports).
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
data=bench-data
mkdir -p "$data"
csv="$data/focus-$rows.csv"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tally/target}"
only=${BENCH_ONLY:-}
section() { [ -z "$only" ] || [ "$only" = "$1" ]; }

if section focus || section alloc; then
if [ ! -s "$csv" ]; then
    echo "generating $rows rows into $csv" >&2
    python3 bench/gen_focus.py "$rows" "$csv.tmp" 2> "$csv.sums"
    mv "$csv.tmp" "$csv"
fi
cat "$csv.sums" >&2
fi

if section focus && [ ! -x "$data/venv/bin/python" ]; then
    python3 -m venv "$data/venv"
    "$data/venv/bin/pip" install -q duckdb polars >&2
fi
if [ -n "${TALLY:-}" ]; then
    tally=$TALLY
else
    cargo build --release --locked >&2
    tally="$CARGO_TARGET_DIR/release/tally"
fi

costs="BilledCost EffectiveCost ListCost ContractedCost ListUnitPrice ContractedUnitPrice ConsumedQuantity PricingQuantity CommitmentDiscountQuantity PricingCurrencyContractedUnitPrice PricingCurrencyEffectiveCost PricingCurrencyListUnitPrice"
py_costs=$(printf '"%s",' $costs)

# measure NAME CMD...: runs CMD under /usr/bin/time, records wall seconds and peak RSS (MB).
declare -A wall rss peak
measure() {
    local name=$1; shift
    local log="$data/time-$name.log"
    sync; /usr/bin/time -v "$@" > "$data/out-$name.txt" 2> "$log" || { cat "$log" >&2; echo "$name failed" >&2; exit 1; }
    local e; e=$(grep 'Elapsed (wall clock)' "$log" | awk '{print $NF}')
    wall[$name]=$(python3 -c "p='$e'.split(':'); print(round(sum(float(x)*60**i for i,x in enumerate(reversed(p))),2))")
    rss[$name]=$(grep 'Maximum resident set size' "$log" | awk '{print int($NF/1024)}')
    printf '%-16s %8.2f s %8d MB\n' "$name" "${wall[$name]}" "${rss[$name]}" >&2
}

if section focus; then
measure tally "$tally" -q convert --from focus -o "$data/tally.parquet" "$csv"
grep -E 'rows|BilledCost' "$data/out-tally.txt" >&2
# The same with zstd, the codec Python Polars writes by default (tally's default is Snappy).
measure tally-zstd env TALLY_PARQUET_COMPRESSION=zstd "$tally" -q convert --from focus -o "$data/tally-zstd.parquet" "$csv"
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
for n in tally tally-zstd duckdb polars floor; do
    printf '%-16s %10.2f %10d %14.2f %14.2f\n' "$n" "${wall[$n]}" "${rss[$n]}" \
        "$(python3 -c "print(${wall[tally]}/${wall[$n]})")" "$(python3 -c "print(${rss[tally]}/${rss[$n]})")"
done
ls -l "$data"/*.parquet | awk '{printf "%-40s %6.1f MB\n", $NF, $5/1e6}' >&2
rm -f "$data"/*.parquet
fi

# Allocation: the same file through `tally run` (ledger, 50 projects, 10 cascading pools,
# reports) against the convert step alone.
if section alloc; then
python3 bench/gen_allocation_pipeline.py "$csv" "$data/allocation.toml"
if [ -z "${wall[tally]:-}" ]; then
    measure tally "$tally" -q convert --from focus -o "$data/tally.parquet" "$csv"
    rm -f "$data/tally.parquet"
fi
rm -rf "$data/alloc-out"
measure run "$tally" -q run "$data/allocation.toml" --out "$data/alloc-out"
echo
printf 'tally run (allocation) %8.2f s %8d MB   convert alone %8.2f s %8d MB\n' "${wall[run]}" "${rss[run]}" "${wall[tally]}" "${rss[tally]}"
rm -rf "$data/alloc-out"
fi

# AWS legacy CUR: `tally convert --from aws-cur` against the FinOps Foundation converter
# (focus-converter 1.0.0, the latest on PyPI, provider `aws-cur`) on the same CSV. focus-converter
# reads the whole CSV at once with Polars (types inferred, costs as Float64), converts it and writes
# Parquet from one worker process per core; --no-export-include-source-columns keeps only its FOCUS
# columns, as tally's ledger does. Peak memory is given twice: the largest single process
# (/usr/bin/time, as above) and the whole process tree, polled every 0.1 s (bench/tree_rss.py).
# Wall times are the median of BENCH_RUNS runs of each (default 3), after one untimed run of each
# (BENCH_WARMUP=0 skips it).
if section cur; then
cur="$data/cur-$rows.csv"
if [ ! -s "$cur" ]; then
    echo "generating $rows CUR rows into $cur" >&2
    python3 bench/gen_cur.py "$rows" "$cur.tmp" 2> "$cur.sums"
    mv "$cur.tmp" "$cur"
fi
cat "$cur.sums" >&2

fc_venv="$data/fc-venv"
if [ ! -x "$fc_venv/bin/focus-converter" ]; then
    # focus-converter 1.0.0 needs Python 3.9 to 3.12 (pyarrow<15, polars==0.20.10); two of its
    # dependencies must be held back, as it does not pin them: typer 0.9 fails on click>=8.2 and
    # pandera (through focus-validator, imported at start) on multimethod>=2.
    fc_python=
    for p in "$HOME"/.pyenv/versions/3.11.*/bin/python3 python3.11 python3.12 python3.10 python3 \
             "$HOME"/.pyenv/versions/3.1[02].*/bin/python3 "$HOME"/.pyenv/versions/3.9.*/bin/python3; do
        if command -v "$p" > /dev/null && "$p" -c 'import sys; sys.exit(not (3, 9) <= sys.version_info[:2] <= (3, 12))'; then
            fc_python=$p
            break
        fi
    done
    [ -n "$fc_python" ] || { echo "focus-converter needs Python 3.9 to 3.12 and none was found" >&2; exit 1; }
    rm -rf "$fc_venv"
    "$fc_python" -m venv "$fc_venv"
    "$fc_venv/bin/pip" install -q "focus-converter==1.0.0" "click<8.2" "multimethod<2" >&2
fi

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)" >&2
# Each tool runs BENCH_RUNS times (default 3), the tools taking turns, and the median is reported:
# a run on this kind of machine can be 10-20% slower than the next for no reason of its own.
runs=${BENCH_RUNS:-3}
declare -A tree walls
# One untimed run of each tool first (as hyperfine's --warmup): the input back in the page cache
# and the binaries loaded, whatever ran before (a release build evicts much of the file).
if [ "${BENCH_WARMUP:-1}" != 0 ]; then
    rm -rf "$data/fc-out" "$data/tally-cur.parquet"
    "$tally" -q convert --from aws-cur -o "$data/tally-cur.parquet" "$cur" > /dev/null
    python3 bench/tree_rss.py --timeout "${FC_TIMEOUT:-3600}" "$data/tree-warmup.txt" \
        "$fc_venv/bin/focus-converter" convert --provider aws-cur --data-format csv --data-path "$cur" \
        --export-path "$data/fc-out/" --no-export-include-source-columns > /dev/null 2>&1
fi
for run in $(seq "$runs"); do
    rm -rf "$data/fc-out" "$data/tally-cur.parquet" "$data/tally-cur-plan.parquet"
    measure tally-cur python3 bench/tree_rss.py "$data/tree-tally-cur.txt" \
        "$tally" -q convert --from aws-cur -o "$data/tally-cur.parquet" "$cur"
    # The same conversion through the format's Polars plan (the direct CSV reader turned off).
    TALLY_DIRECT_READER=off measure tally-cur-plan python3 bench/tree_rss.py "$data/tree-tally-cur-plan.txt" \
        "$tally" -q convert --from aws-cur -o "$data/tally-cur-plan.parquet" "$cur"
    # A focus-converter run that fails leaves its workers waiting forever: tree_rss.py ends them.
    measure focus-conv python3 bench/tree_rss.py --timeout "${FC_TIMEOUT:-3600}" "$data/tree-focus-conv.txt" \
        "$fc_venv/bin/focus-converter" convert --provider aws-cur --data-format csv --data-path "$cur" \
        --export-path "$data/fc-out/" --no-export-include-source-columns
    # Wall times from tree_rss.py: the tool's own, without the wrapper's start-up (the same for
    # all); peak memory: the largest of the runs.
    for n in tally-cur tally-cur-plan focus-conv; do
        t=$(sed -n 's/^tree_peak_mb=//p' "$data/tree-$n.txt")
        tree[$n]=$(( ${tree[$n]:-0} > t ? ${tree[$n]:-0} : t ))
        walls[$n]="${walls[$n]:-} $(sed -n 's/^wall_s=//p' "$data/tree-$n.txt")"
        peak[$n]=$(( ${peak[$n]:-0} > ${rss[$n]} ? ${peak[$n]:-0} : ${rss[$n]} ))
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
declare -A best
for n in tally-cur tally-cur-plan focus-conv; do
    wall[$n]=$(python3 -c "import statistics, sys; print(statistics.median(map(float, sys.argv[1:])))" ${walls[$n]})
    best[$n]=$(python3 -c "import sys; print(min(map(float, sys.argv[1:])))" ${walls[$n]})
    echo "$n wall times (s):${walls[$n]}" >&2
done

echo
grep -E 'rows|BilledCost' "$data/out-tally-cur.txt" >&2
"$fc_venv/bin/python" - >&2 <<PY
import polars as pl
d = pl.scan_parquet("$data/fc-out/*.parquet").select(
    pl.len(), pl.col("BilledCost").sum(), pl.col("EffectiveCost").sum()).collect()
print("focus-converter: %d rows, BilledCost %r, EffectiveCost %r (Float64 sums)" % d.row(0))
PY
if [ -x "$data/venv/bin/python" ]; then
    "$data/venv/bin/python" - >&2 <<PY
import polars as pl
a, b = pl.read_parquet("$data/tally-cur.parquet"), pl.read_parquet("$data/tally-cur-plan.parquet")
same = a.schema == b.schema and a.height == b.height and all(a[c].equals(b[c]) for c in a.columns)
print("direct reader and Polars plan:", "the same ledger" if same else "LEDGERS DIFFER")
PY
fi
# The machine has slow spells of a minute or so (every tool 10-40% slower): the median and the
# best of each tool's runs are both given, and the ratios of each.
printf '%-16s %10s %10s %10s %10s %14s %14s %14s\n' tool "median (s)" "best (s)" "peak (MB)" "tree (MB)" \
    "tally/tool t" "(best)" "tally/tool tree"
for n in tally-cur tally-cur-plan focus-conv; do
    printf '%-16s %10.2f %10.2f %10d %10d %14.2f %14.2f %14.2f\n' "$n" "${wall[$n]}" "${best[$n]}" "${peak[$n]}" \
        "${tree[$n]}" "$(python3 -c "print(${wall[tally-cur]}/${wall[$n]})")" \
        "$(python3 -c "print(${best[tally-cur]}/${best[$n]})")" "$(python3 -c "print(${tree[tally-cur]}/${tree[$n]})")"
done
rm -rf "$data/fc-out" "$data/tally-cur.parquet" "$data/tally-cur-plan.parquet"
fi
