#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time, starting from the seed corpus in
# fuzz/corpus/<target>/. Fails on any crash, timeout or out-of-memory, and says where the input
# that caused it was saved.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 20, or $FUZZ_SECONDS; CI uses the default)
#
# A failure is reproduced and minimised with:
#   cargo fuzz run -s none <target> fuzz/artifacts/<target>/<file>
#   cargo fuzz tmin -s none <target> fuzz/artifacts/<target>/<file>
# and then fixed, with the input turned into a unit test next to the fixed code and copied into
# fuzz/corpus/<target>/.
#
# Stable Rust: cargo-fuzz's default sanitizer, AddressSanitizer, needs `-Zsanitizer`, which only
# a nightly compiler accepts. With `-s none` cargo-fuzz passes nothing but stable flags (the
# sanitizer-coverage instrumentation libFuzzer needs, `--cfg fuzzing`, debug assertions and
# overflow checks), so the stable toolchain builds the targets as it is, no RUSTC_BOOTSTRAP.
# Little is lost: the code under test forbids `unsafe`, so the bugs to find are panics, broken
# invariants, hangs and runaway memory, which libFuzzer catches without a sanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-${FUZZ_SECONDS:-20}}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS_PER_TARGET]" >&2
    exit 2
fi
# Pinned, so that CI runs the cargo-fuzz that this script was written for.
cargo_fuzz_version=0.13.2
# The same flags for build and run, or `cargo fuzz run` would build again.
fuzz_flags=(--sanitizer none)

# Installed into the normal cargo bin directory, where a CI cache of ~/.cargo/bin keeps it.
if ! cargo fuzz --version 2>/dev/null | grep -qF "$cargo_fuzz_version"; then
    echo "== installing cargo-fuzz $cargo_fuzz_version"
    cargo install --locked cargo-fuzz --version "$cargo_fuzz_version"
fi

mapfile -t targets < <(cargo fuzz list)
echo "== building ${targets[*]}"
# All targets in one cargo invocation: the dependencies are compiled once, both cores busy.
cargo fuzz build "${fuzz_flags[@]}"

# libFuzzer adds every input that finds new coverage to the first corpus directory; that is a
# scratch copy, so a run never adds hundreds of files to the committed seeds, which are only read.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

failed=()
for target in "${targets[@]}"; do
    echo "== $target: ${seconds}s"
    mkdir -p "$scratch/$target" "fuzz/artifacts/$target"
    # Kept next to the saved inputs (ignored by git), for a CI job to upload with them.
    log="fuzz/artifacts/$target.log"
    marker="$scratch/$target.started"
    touch "$marker"
    # -timeout: one input running longer is a hang; -rss_limit_mb: memory that is not bounded.
    # -print_final_stats: executions and coverage in the log, to see that the target did work.
    if ! cargo fuzz run "${fuzz_flags[@]}" "$target" "$scratch/$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        >"$log" 2>&1; then
        failed+=("$target")
        # The log is long (a backtrace, libFuzzer's report); these lines say what went wrong.
        {
            grep -m1 -A4 'panicked at' "$log" || true
            grep -E 'ERROR: libFuzzer|SUMMARY: libFuzzer|^error' "$log" || true
        } >&2
        found=$(find "fuzz/artifacts/$target" -type f -newer "$marker")
        if [[ -n $found ]]; then
            echo "!! $target failed; the input that did it is saved in:" >&2
            echo "$found" | sed 's/^/!!   /' >&2
        else
            echo "!! $target failed before fuzzing" >&2
        fi
        echo "!! the whole log: $log" >&2
        continue
    fi
    grep -E '^stat::(number_of_executed_units|new_units_added|peak_rss_mb)' "$log" | tr -s ' \n' ' '
    echo
done

if ((${#failed[@]})); then
    echo "== fuzzing failed: ${failed[*]}" >&2
    exit 1
fi
echo "== fuzzing passed: ${targets[*]}, ${seconds}s each"
