# Input filter for the public headers (docs/Doxyfile.in). It only rewrites
# lines in place, so the line numbers in doxygen's warnings stay right.
#
# Each header opens with a plain comment that names the file and its
# module. Doxygen lists a file's functions, macros and enums only when the
# file itself is documented, so that comment becomes the @file block. Its
# prose is not markup: < and > in it are escaped.
1s|^/[*]$|/** @file|
1,/[*][/]/s|\([<>]\)|\\\1|g
#
# STYLE.md groups the fields of a public struct under /* public */,
# /* read-only */ and /* private */, private last. The private fields are
# not API: they are left out of the reference, down to the end of the
# struct.
/^[[:space:]]*[/][*] private [*][/]$/,/^};/{
s|^[[:space:]]*[/][*] private [*][/]$|/** @cond PRIVATE */|
s|^};|/** @endcond */ };|
}
