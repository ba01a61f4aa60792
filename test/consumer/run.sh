#!/bin/sh
# Builds test/consumer, a parent project that pulls evfut through a wrap
# file, as a user does: a [wrap-file] whose tarball is this tree (git
# archive, uncommitted changes to tracked files included), put in
# subprojects/packagecache so that nothing is downloaded. Then installs the
# parent with `meson install --destdir` and runs the installed program.
#
#   test/consumer/run.sh static|shared BUILD_DIR [meson setup options...]
#
# static (evfut's default as a subproject): the parent installs its program
# and nothing of evfut; the program needs no libevfut.so and runs from the
# destdir with LD_LIBRARY_PATH unset.
# shared (-Devfut:subproject_static=false): evfut follows default_library;
# the parent installs libevfut.so.0 with its program, and nothing else of
# evfut; the program runs with the destdir's libdir as the loader's path.
set -eu
mode=$1
build=$2
shift 2
src=$(cd "$(dirname "$0")/../.." && pwd)
version=$(sed -n "s/^ *version: '\(.*\)',$/\1/p" "$src/meson.build")
dir="evfut-$version"
parent="$build/parent"
cache="$parent/subprojects/packagecache"

fail() {
	echo "consumer ($mode): $*"
	exit 1
}

# docs/subproject.md quotes the parent's dependency() and executable().
python3 - "$src/test/consumer/meson.build" "$src/docs/subproject.md" <<'PY' ||
import sys
lines = open(sys.argv[1]).read().splitlines(keepends=True)
start = next(i for i, l in enumerate(lines) if l.startswith("evfut_dep ="))
end = next(i for i, l in enumerate(lines) if l.startswith("test("))
sys.exit("".join(lines[start:end]) not in open(sys.argv[2]).read())
PY
	fail "docs/subproject.md does not quote test/consumer/meson.build"

rm -rf "$build"
mkdir -p "$cache" "$build/destdir"
root=$(cd "$build/destdir" && pwd)
cp "$src/test/consumer/meson.build" "$src/test/consumer/consumer.c" "$parent"
git -C "$src" rev-parse --git-dir >/dev/null 2>&1 ||
	fail "$src is not a git checkout: the wrap's tarball comes from git archive"
tree=$(git -C "$src" stash create)
git -C "$src" archive --format=tar.gz --prefix="$dir/" "${tree:-HEAD}" \
	>"$cache/$dir.tar.gz"
hash=$(sha256sum "$cache/$dir.tar.gz" | cut -d' ' -f1)
cat >"$parent/subprojects/evfut.wrap" <<WRAP
[wrap-file]
directory = $dir
source_url = https://example.invalid/evfut/$dir.tar.gz
source_filename = $dir.tar.gz
source_hash = $hash

[provide]
dependency_names = evfut
WRAP

log="$build/build.log"
{
	meson setup "$build/b" "$parent" --force-fallback-for=evfut "$@" &&
		meson compile -C "$build/b" &&
		meson test -C "$build/b" --print-errorlogs &&
		meson install -C "$build/b" --destdir "$root"
} >"$log" 2>&1 || { cat "$log"; fail "build failed"; }

option() {
	meson introspect "$build/b" --buildoptions | python3 -c '
import json, sys
value = {o["name"]: o["value"] for o in json.load(sys.stdin)}[sys.argv[1]]
print(json.dumps(value) if isinstance(value, bool) else value)' "$1"
}
prefix=$(option prefix)
bin="$root$prefix/$(option bindir)/consumer"
libdir="$root$prefix/$(option libdir)"
installed=$(cd "$root" && find . ! -type d | sort)
printf 'consumer (%s) installed: %s\n' "$mode" "$(echo "$installed" | tr '\n' ' ')"

[ -x "$bin" ] || fail "no $bin"
needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(libevfut[^]]*\)\]/\1/p')
others=$(echo "$installed" | grep -v -e '/bin/consumer$' -e '/libevfut\.so' || true)
[ -z "$others" ] || fail "installed more than the program and libevfut: $others"
case $mode in
static)
	[ -z "$needed" ] || fail "the program needs $needed"
	echo "$installed" | grep -q libevfut && fail "libevfut installed"
	out=$(env -u LD_LIBRARY_PATH "$bin") || fail "exit $?"
	;;
shared)
	[ "$needed" = libevfut.so.0 ] || fail "the program needs '$needed'"
	[ -e "$libdir/$needed" ] || fail "$libdir/$needed not installed"
	out=$(LD_LIBRARY_PATH="$libdir" "$bin") || fail "exit $?"
	;;
*) fail "mode is static or shared" ;;
esac
[ "$out" = "evfut $version: the task slept and finished: yes" ] ||
	fail "unexpected output: $out"
echo "$out"
