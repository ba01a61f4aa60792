#!/bin/sh
# Fails when the library exports a symbol outside the evfut_ namespace, or
# an internal evfut__ one.
nm=$1
lib=$2
case "$lib" in
*.a) opts="--defined-only --extern-only" ;;
*) opts="-D --defined-only" ;;
esac
bad=$($nm $opts "$lib" | awk '$2 ~ /^[TDBRV]$/ {print $3}' |
	grep -v -E '^evfut_[a-z]' | grep -v -E '^(_init|_fini|_edata|_end|__bss_start)$')
if [ -n "$bad" ]; then
	echo "not ok - symbols outside evfut_ are exported:"
	echo "$bad"
	exit 1
fi
echo "exported symbols: evfut_ only"
