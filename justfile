# Convenience recipes; the README's two commands work without `just`.

# Run the bundled demo (fixtures only, no cloud account).
demo:
    cargo run --release -- run pipelines/demo.toml

# The whole test suite (the object-storage tests start moto and Azurite on 127.0.0.1).
test:
    cargo test --workspace

# Formatting and clippy, as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Benchmark: ROWS synthetic FOCUS rows; tally convert vs DuckDB vs Python Polars.
bench rows="1000000":
    bash bench/run.sh {{rows}}

# What CI runs.
ci:
    bash .ci/run
