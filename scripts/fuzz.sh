#!/usr/bin/env bash
# Fuzzes the code that reads client input with libFuzzer (Linux): builds `tether-fuzz` with
# -sanitize=fuzzer into .build-fuzz, then runs each target for a while, starting from the committed
# corpus in Fuzz/Corpus/<target>/ (read only: new inputs go to a temporary directory).
#
#   scripts/fuzz.sh [--seconds N] [--seed S] [--debug] [target…]
#       targets: frame json expression cron eventBody (default: all)
#       --debug builds without optimisation (and without AddressSanitizer unless
#       TETHER_FUZZ_SANITIZERS says so) into .build-fuzz-debug: about 11 min from scratch here (28
#       for release), fewer executions per second; CI uses it. --seed makes inputs repeatable.
#
# Prints each target's executions; fails when a target traps (or hangs, or runs out of memory),
# printing the saved input's path and base64. Reproduce one without libFuzzer with
#   swift build --product tether-fuzz && .build/debug/tether-fuzz <target> <file>
# and add it to Fuzz/Corpus/<target>/ so that `swift test` (TetherFuzzTests) replays it.
#
# TETHER_FUZZ_SANITIZERS overrides the sanitizers (default fuzzer,address).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

seconds=60
seed=0
configuration=release
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
    --seconds) seconds="${2:?--seconds needs a value}"; shift 2 ;;
    --seconds=*) seconds="${1#--seconds=}"; shift ;;
    --seed) seed="${2:?--seed needs a value}"; shift 2 ;;
    --seed=*) seed="${1#--seed=}"; shift ;;
    --debug) configuration=debug; shift ;;
    -h | --help) usage 0 ;;
    -*) echo "unknown option $1" >&2; usage 2 ;;
    *) targets+=("$1"); shift ;;
    esac
done
all_targets=(frame json expression cron eventBody)
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

# Longest input per target: a few frames; JSON and event bodies with room for nesting; the
# expression limit (4 KiB) and a bit; a cron line and a zone.
max_len() {
    case "$1" in
    frame) echo 16384 ;;
    json | eventBody) echo 8192 ;;
    expression) echo 4200 ;;
    cron) echo 256 ;;
    *) echo "unknown target '$1'; use one of: ${all_targets[*]}" >&2; return 1 ;;
    esac
}
for target in "${targets[@]}"; do max_len "$target" >/dev/null || exit 2; done

if [ "$configuration" = debug ]; then
    sanitizers="${TETHER_FUZZ_SANITIZERS:-fuzzer}"
    scratch=.build-fuzz-debug
else
    sanitizers="${TETHER_FUZZ_SANITIZERS:-fuzzer,address}"
    scratch=.build-fuzz
fi
echo "=== building tether-fuzz ($configuration, -sanitize=$sanitizers) in $scratch"
start=$SECONDS
swift build -c "$configuration" --product tether-fuzz --scratch-path "$scratch" \
    -Xswiftc "-sanitize=$sanitizers" -Xswiftc -DFUZZING
echo "=== built in $((SECONDS - start)) s"
binary="$scratch/$configuration/tether-fuzz"

work="$(mktemp -d -t tether-fuzz.XXXXXX)"
# The Swift runtime's backtracer would catch the trap before libFuzzer and can hang.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:handle_abort=1}"
failed=()
for target in "${targets[@]}"; do
    dir="$work/$target"
    mkdir -p "$dir/corpus" "$dir/findings"
    echo "=== $target: ${seconds} s (work directory $dir)"
    status=0
    TETHER_FUZZ_TARGET="$target" "$binary" \
        -max_total_time="$seconds" -max_len="$(max_len "$target")" -timeout=20 -rss_limit_mb=4096 \
        -print_final_stats=1 -seed="$seed" \
        -artifact_prefix="$dir/findings/" \
        "$dir/corpus" "Fuzz/Corpus/$target" >"$dir/log" 2>&1 || status=$?
    executions="$(grep -E '^stat::number_of_executed_units' "$dir/log" | awk '{ sum += $2 } END { print sum + 0 }')"
    findings=()
    for file in "$dir/findings"/*; do
        case "$(basename "$file")" in crash-* | timeout-* | oom-* | leak-*) findings+=("$file") ;; esac
    done
    new_units="$(find "$dir/corpus" -type f | wc -l)"
    echo "$target: $executions executions, $new_units new corpus inputs, exit status $status"
    if [ "$status" -ne 0 ] || [ ${#findings[@]} -gt 0 ]; then
        failed+=("$target")
        echo "=== $target FAILED; log: $dir/log"
        grep -E 'ERROR: libFuzzer|ERROR: AddressSanitizer|SUMMARY|Fatal error|fatal error|precondition' "$dir/log" | head -20 || true
        for file in "${findings[@]}"; do
            echo "--- finding: $file"
            base64 -w0 "$file"
            echo
        done
        [ ${#findings[@]} -gt 0 ] || tail -30 "$dir/log"
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "=== fuzzing found problems in: ${failed[*]}"
    exit 1
fi
echo "=== no findings (${targets[*]}, $seconds s each)"
