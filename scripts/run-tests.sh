#!/usr/bin/env bash
# scripts/run-tests.sh - run the test binaries of one build and summarize.
#
#   scripts/run-tests.sh [unit|integration|interop|clients]...   (default: all)
#
# Environment:
#   BUILD      build directory (default: build)
#   MEMCHECK=1 run the unit tests under valgrind (leaks are errors)
#   TEST_TIMEOUT_UNIT / _INTEGRATION / _INTEROP  seconds per binary
#
# Runs every $BUILD/tests/unit/*/test_*, every $BUILD/tests/integration/test_*
# and tests/integration/test_*.sh (with bash), then tests/interop/run.sh if it
# exists and each clients/*/run-tests.sh (the Python and Go clients against
# the real broker), each under timeout(1), from the
# source tree with ACTORS_SRCDIR set to it. Prints one line per test binary
# and, last, "N passed, N failed" counting test binaries (interop run.sh
# counts as one). Exits 1 if anything failed or nothing ran.
set -uo pipefail

cd "$(dirname "$0")/.."
SRCDIR=$(pwd)
BUILD=${BUILD:-build}
MEMCHECK=${MEMCHECK:-0}
export ACTORS_SRCDIR=$SRCDIR
export BUILD

# Sanitizers: stop at the first error, with a stack. The binaries in
# $BUILD/bin come from the same build, so they are sanitized too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=0:detect_leaks=1:print_stacktrace=1:strict_string_checks=1:detect_stack_use_after_return=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-print_suppressions=0}
# handle_segv=0: chaos's crash method raises SIGSEGV to die of it, and the
# tests check that the supervisor saw "signal 11"; TSan's own handler
# would turn that into its report and exit code 66. A real fault still
# kills the process (and fails its test), without TSan's report.
tsan=halt_on_error=1:second_deadlock_stack=1:handle_segv=0
[ -f "$SRCDIR/tsansupp.txt" ] && tsan=$tsan:suppressions=$SRCDIR/tsansupp.txt
export TSAN_OPTIONS=${TSAN_OPTIONS:-$tsan}

# Slow builds get more time per Check test case too.
slow=1
case "$BUILD" in
    *address*|*undefined*|*thread*) slow=3 ;;
esac
[ "$MEMCHECK" = 1 ] && slow=10
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-$slow}

T_UNIT=${TEST_TIMEOUT_UNIT:-$((120 * slow))}
T_INTEG=${TEST_TIMEOUT_INTEGRATION:-$((600 * slow))}
T_INTEROP=${TEST_TIMEOUT_INTEROP:-$((300 * slow))}
T_CLIENTS=${TEST_TIMEOUT_CLIENTS:-$((300 * slow))}

kinds=("$@")
[ ${#kinds[@]} -eq 0 ] && kinds=(unit integration interop clients)

passed=0
failed=0
failed_names=()
failed_logs=()
logdir=$(mktemp -d "${TMPDIR:-/tmp}/run-tests.XXXXXX")
trap 'rm -rf "$logdir"' EXIT

# run NAME TIMEOUT CMD... : one test binary, one line of result.
run() {
    local name=$1 limit=$2
    shift 2
    local start end rc
    start=$(date +%s)
    local log
    log="$logdir/$(printf '%03d' $((passed + failed)))-${name//\//_}.log"
    echo "--- $name"
    # The output goes to the terminal and to $log (for the digest at the
    # end); tee runs as a process substitution so that a process the test
    # leaked cannot hold this script on the pipe.
    timeout -k 10 "$limit" "$@" > >(tee "$log") 2>&1
    rc=$?
    end=$(date +%s)
    if [ $rc -eq 0 ]; then
        passed=$((passed + 1))
        echo "PASS $name ($((end - start)) s)"
    else
        failed=$((failed + 1))
        failed_names+=("$name")
        failed_logs+=("$log")
        if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
            echo "FAIL $name (timed out after $limit s)"
        else
            echo "FAIL $name (exit $rc, $((end - start)) s)"
        fi
    fi
}

for kind in "${kinds[@]}"; do
    case "$kind" in
    unit)
        shopt -s nullglob
        for t in "$BUILD"/tests/unit/*/test_*; do
            [ -x "$t" ] && [ -f "$t" ] || continue
            case "$t" in *.d|*.o) continue ;; esac
            if [ "$MEMCHECK" = 1 ]; then
                run "${t#"$BUILD"/}" "$T_UNIT" valgrind -q --error-exitcode=1 \
                    --leak-check=full --errors-for-leak-kinds=definite,indirect \
                    --track-fds=no "$t"
            else
                run "${t#"$BUILD"/}" "$T_UNIT" "$t"
            fi
        done
        shopt -u nullglob
        ;;
    integration)
        shopt -s nullglob
        for t in "$BUILD"/tests/integration/test_*; do
            [ -x "$t" ] && [ -f "$t" ] || continue
            case "$t" in *.d|*.o) continue ;; esac
            run "${t#"$BUILD"/}" "$T_INTEG" "$t"
        done
        # Shell tests of the installed tree and the docs (test_*.sh).
        for t in tests/integration/test_*.sh; do
            run "$t" "$T_INTEG" bash "$t"
        done
        shopt -u nullglob
        ;;
    interop)
        if [ -f tests/interop/run.sh ]; then
            run tests/interop/run.sh "$T_INTEROP" bash tests/interop/run.sh
        fi
        ;;
    clients)
        for t in clients/*/run-tests.sh; do
            [ -f "$t" ] && run "$t" "$T_CLIENTS" bash "$t"
        done
        ;;
    *)
        echo "run-tests: unknown kind '$kind' (unit|integration|interop|clients)" >&2
        exit 2
        ;;
    esac
done

# The failures again, last: a CI log is often read from its tail.
for i in "${!failed_names[@]}"; do
    echo
    echo "=== why ${failed_names[$i]} failed (its assertions, then its last lines)"
    grep -aE ':F:|:E:|not ok|Assertion|AddressSanitizer|runtime error|ThreadSanitizer|timed out|FAIL' \
        "${failed_logs[$i]}" 2>/dev/null | head -n 20
    echo "..."
    tail -n 25 "${failed_logs[$i]}" 2>/dev/null
done
if [ ${#failed_names[@]} -gt 0 ]; then
    echo
    echo "failed: ${failed_names[*]}"
fi
echo "(counting test binaries; BUILD=$BUILD)"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
