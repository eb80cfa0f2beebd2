#!/usr/bin/env bash
# The workspace's debug binaries (target/debug/ferry-local, ferry, ferry-bench, the functions),
# built with the features of the test suite's build: `--all-targets` brings in the
# dev-dependencies' features (tokio's test-util, reqwest's cookies), as `cargo test` does, so
# the dependency graph is compiled once and, after `cargo test --workspace --all-features`,
# this only links what is missing. Any other feature set compiles most of the graph again.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --quiet --workspace --all-features --all-targets
