#!/bin/sh
# Installs evfut from build directory $1 into a staging root (meson install
# --destdir), checks what was installed, then builds
# test/consumer/consumer.c against the staged pkg-config file, as
# docs/subproject.md shows (PKG_CONFIG_PATH and PKG_CONFIG_SYSROOT_DIR), and
# runs it. A static build is linked with `pkg-config --static` and runs with
# LD_LIBRARY_PATH unset; a shared one runs with the staged libdir.
#
# Installed: the library, the public headers and evfut.pc; evfut-timer and
# its man page only with -Dinstall_examples=true; nothing else.
set -eu
build=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

fail() {
	echo "install: $*"
	exit 1
}

option() {
	meson introspect "$build" --buildoptions | python3 -c '
import json, sys
value = {o["name"]: o["value"] for o in json.load(sys.stdin)}[sys.argv[1]]
print(json.dumps(value) if isinstance(value, bool) else value)' "$1"
}
prefix=$(option prefix)
libdir=$prefix/$(option libdir)
kind=$(option default_library)
examples=$(option install_examples)

meson install -C "$build" --destdir "$root" --quiet >/dev/null
installed=$(cd "$root" && find . ! -type d | sed 's/^\.//' | sort)

# What must be there, and nothing else.
expect="$libdir/pkgconfig/evfut.pc
$prefix/$(option includedir)/evfut.h"
case $kind in
static) expect="$expect
$libdir/libevfut.a" ;;
shared) expect="$expect
$libdir/libevfut.so" ;;
esac
if [ "$examples" = true ]; then
	expect="$expect
$prefix/$(option bindir)/evfut-timer
$prefix/$(option mandir)/man1/evfut-timer.1"
fi
for f in $expect; do
	echo "$installed" | grep -qx "$f" || fail "$f not installed"
done
others=$(echo "$installed" | grep -v -x -F "$expect" |
	grep -v -e "^$prefix/$(option includedir)/evfut/[a-z]*\.h$" \
		-e "^$libdir/libevfut\.so\.[0-9.]*$" || true)
[ -z "$others" ] || fail "installed unasked: $others"
# Private headers stay private.
for h in remote.h driver.h store.h; do
	echo "$installed" | grep -q "/$h$" && fail "private header $h installed"
done

# The staged install through pkg-config: PKG_CONFIG_PATH finds evfut.pc in
# the staging root, PKG_CONFIG_SYSROOT_DIR prefixes its -I and -L with it.
export PKG_CONFIG_PATH="$root$libdir/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$root"
static=""
[ "$kind" = static ] && static=--static
# shellcheck disable=SC2086
flags=$(pkg-config $static --cflags --libs evfut)
# shellcheck disable=SC2086
cc -std=c11 -Wall -Werror -o "$root/consumer" \
	"$src/test/consumer/consumer.c" $flags
if [ "$kind" = static ]; then
	readelf -d "$root/consumer" | grep -q 'NEEDED.*libevfut' &&
		fail "a static install gave a program that needs libevfut.so"
	out=$(env -u LD_LIBRARY_PATH "$root/consumer") || fail "exit $?"
else
	# pkg-config has prefixed the sysroot to libdir already.
	out=$(LD_LIBRARY_PATH=$(pkg-config --variable=libdir evfut) \
		"$root/consumer") || fail "exit $?"
fi
echo "$out"
echo "installed evfut ($kind, install_examples=$examples) works:" \
	"library, headers and pkg-config file"
