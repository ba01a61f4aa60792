#!/bin/sh
# Installs evfut from build directory $1 into a temporary root, then builds
# test/consumer/consumer.c against the installed pkg-config file and runs it.
set -eu
build=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
meson install -C "$build" --destdir "$root" --quiet
pc=$(dirname "$(find "$root" -name evfut.pc | head -n 1)")
export PKG_CONFIG_PATH="$pc" PKG_CONFIG_SYSROOT_DIR="$root"
flags=$(pkg-config --cflags --libs evfut)
libdir=$(pkg-config --variable=libdir evfut)
# shellcheck disable=SC2086
cc -std=c11 -Wall -Werror -o "$root/consumer" "$src/test/consumer/consumer.c" $flags
# pkg-config prefixes the sysroot to libdir already.
LD_LIBRARY_PATH="$libdir" "$root/consumer"
# Private headers stay private.
leaked=$(find "$root" -name remote.h -o -name driver.h -o -name store.h)
if [ -n "$leaked" ]; then
	echo "private headers installed: $leaked"
	exit 1
fi
echo "installed headers, library and pkg-config file work"
