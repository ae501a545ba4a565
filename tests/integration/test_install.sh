#!/usr/bin/env bash
# tests/integration/test_install.sh - make install as a user gets it, and a
# service and a client built outside the tree from examples/ with nothing
# but `pkg-config actors`, run against the installed broker.
# SPDX-License-Identifier: MIT
#
#   BUILD=build tests/integration/test_install.sh
#
# Installs the build into a temporary DESTDIR (PREFIX=/opt/actors), then:
# the versioned shared library and its SONAME, the static library, every
# public header compiling on its own with only the installed include
# directory, actors.h including every header, actors.pc (also for static
# linking), the man pages, the examples built from a copy outside the tree
# and used, and make uninstall leaving no file behind.
. "$(dirname "${BASH_SOURCE[0]}")/shlib.sh"

PREFIX=/opt/actors
STAGE="$TMP/stage"
P="$STAGE$PREFIX"
# A sanitizer build's library needs its runtime in whatever links it.
SAN=""
case "$BUILD" in
    *-address | *-undefined | *-thread) SAN="-fsanitize=${BUILD##*-}" ;;
esac
VERSION="$(sed -n 's/^#define ACTORS_VERSION_[A-Z]* //p' \
    "$ROOT/libactors/include/actors/export.h" | paste -sd.)"
MAJOR="${VERSION%%.*}"

if ! make -s -C "$ROOT" install BUILD="$BUILD" PREFIX="$PREFIX" \
        DESTDIR="$STAGE" >"$TMP/install.log" 2>&1; then
    cat "$TMP/install.log"
    fail "make install"
    finish
    exit 1
fi
ok "make install DESTDIR PREFIX"

# ---- the files
for f in bin/actors-broker bin/actors-supervisor bin/actorctl \
         "lib/libactors.so.$VERSION" lib/libactors.a \
         lib/pkgconfig/actors.pc include/actors/actors.h \
         share/man/man1/actorctl.1 share/man/man1/actors-broker.1 \
         share/man/man1/actors-supervisor.1; do
    [ -f "$P/$f" ] || fail "installed $f" "missing"
done
check "libactors.so.$MAJOR -> libactors.so.$VERSION" \
    test "$(readlink "$P/lib/libactors.so.$MAJOR")" = "libactors.so.$VERSION"
check "libactors.so -> libactors.so.$VERSION" \
    test "$(readlink "$P/lib/libactors.so")" = "libactors.so.$VERSION"
soname="$(readelf -d "$P/lib/libactors.so.$VERSION" |
    sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
check "SONAME is libactors.so.$MAJOR" test "$soname" = "libactors.so.$MAJOR"
for m in actorctl actors-broker actors-supervisor; do
    check "man page $m renders" \
        bash -c "MANWIDTH=80 man -l '$P/share/man/man1/$m.1' 2>&1 | grep -q NAME"
done

# ---- the headers: every one on its own, and all of them in actors.h
PCFLAGS="$(pkg-config --cflags msgpack)"
for h in "$P"/include/actors/*.h; do
    name="$(basename "$h")"
    printf '#include <actors/%s>\nint main(void) { return 0; }\n' "$name" \
        >"$TMP/h.c"
    check "header $name compiles alone" \
        cc -std=c11 -Wall -Werror -fsyntax-only -I"$P/include" $PCFLAGS "$TMP/h.c"
    [ "$name" = actors.h ] && continue
    check "actors.h includes $name" \
        grep -q "^#include <actors/$name>" "$P/include/actors/actors.h"
done
# The source tree's headers too: a header added later is caught here.
for h in "$ROOT"/libactors/include/actors/*.h; do
    name="$(basename "$h")"
    [ -f "$P/include/actors/$name" ] || fail "header $name installed"
done
check "no installed header names libactors/src or internal headers" \
    bash -c "! grep -lE 'actors-internal/|_internal\.h' '$P'/include/actors/*.h"

# ---- pkg-config, relocated to the staging directory
export PKG_CONFIG_PATH="$P/lib/pkgconfig"
PKGC="pkg-config --define-variable=prefix=$P"
check "pkg-config --modversion actors is $VERSION" \
    test "$($PKGC --modversion actors)" = "$VERSION"
check "pkg-config --libs names -lactors and msgpack" \
    bash -c "$PKGC --libs actors | grep -q -- '-lactors' &&
             $PKGC --libs actors | grep -q -- '-lmsgpackc'"
check "pkg-config --static --libs names the private libraries" \
    bash -c "$PKGC --static --libs actors | grep -q -- '-lzmq' &&
             $PKGC --static --libs actors | grep -q -- '-lczmq'"

# ---- the examples, copied outside the tree, built with their Makefiles
mkdir -p "$TMP/outside"
cp -r "$ROOT/examples/service" "$ROOT/examples/client" \
    "$ROOT/examples/persistence" "$TMP/outside/"
for d in service client persistence; do
    if make -C "$TMP/outside/$d" PKG_CONFIG="$PKGC" CFLAGS="-O1 -g -Wall -Wextra -Werror $SAN" \
            LDFLAGS="$SAN" >"$TMP/make-$d.log" 2>&1; then
        ok "examples/$d builds with pkg-config actors"
    else
        fail "examples/$d builds with pkg-config actors" \
            "$(tail -n 5 "$TMP/make-$d.log" | tr '\n' ' ')"
    fi
done
KV="$TMP/outside/service/kv"
CLI="$TMP/outside/client/kvclient"
check "the service needs libactors.so.$MAJOR" \
    bash -c "readelf -d '$KV' | grep -q 'NEEDED.*libactors.so.$MAJOR'"
# Static: libactors.a, the libraries its .pc names as private (their own
# shared libraries: Debian does not ship every static archive beneath
# them) and its Libs.private.
private="$($PKGC --print-requires-private actors | awk '{print $1}')"
libs_private="$(sed -n 's/^Libs.private: //p' "$P/lib/pkgconfig/actors.pc")"
static_libs="$P/lib/libactors.a $($PKGC --libs msgpack $private) $libs_private"
check "the client links statically against libactors.a" \
    cc -std=c11 -O1 $SAN -o "$TMP/kvclient-static" \
    "$TMP/outside/client/kvclient.c" $($PKGC --cflags actors) $static_libs
check "the static client does not need libactors.so" \
    bash -c "! readelf -d '$TMP/kvclient-static' | grep -q libactors"

# ---- run them: the installed broker, the service, the client
export LD_LIBRARY_PATH="$P/lib"
start_broker "$P/bin"
start_bg kv "$KV" --address example/kv '{"greeting": "hello"}'
check "actorctl wait example/kv" \
    "$P/bin/actorctl" --timeout 15000 wait example/kv
expect_out() {
    local name="$1" want="$2"
    shift 2
    local got
    got="$("$@" 2>&1)"
    if [ "$got" = "$want" ]; then ok "$name"; else fail "$name" "got '$got', want '$want'"; fi
}
expect_out "client: get greeting" '"hello"' "$CLI" example/kv get greeting
expect_out "client: put n" 'null' "$CLI" example/kv put n '[1, {"a": 2.5}]'
expect_out "client: put n again" '[1,{"a":2.5}]' "$CLI" example/kv put n 3
expect_out "client: keys (grown array)" '["n","greeting"]' "$CLI" example/kv keys
expect_out "client: all (grown map)" '{"n":3,"greeting":"hello"}' \
    "$CLI" example/kv all
expect_out "client: KeyError" 'KeyError: no such key' "$CLI" example/kv get nope
expect_out "static client: get greeting" '"hello"' \
    "$TMP/kvclient-static" --broker "$EP" example/kv get greeting
expect_out "installed actorctl calls it" '"hello"' \
    "$P/bin/actorctl" call example/kv get greeting

# ---- uninstall leaves nothing
if make -s -C "$ROOT" uninstall BUILD="$BUILD" PREFIX="$PREFIX" \
        DESTDIR="$STAGE" >"$TMP/uninstall.log" 2>&1; then
    left="$(find "$STAGE" -type f -o -type l | head -n 5)"
    if [ -z "$left" ]; then ok "make uninstall removes every file"; else
        fail "make uninstall removes every file" "left: $left"; fi
else
    fail "make uninstall" "$(tail -n 3 "$TMP/uninstall.log")"
fi
finish
