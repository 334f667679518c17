#!/bin/sh
# render-man.sh PROGRAM OUT [SECTION_TITLE] - a man page from PROGRAM --help.
#
# Used when help2man is not installed: the page is the --help text verbatim
# in a no-fill block, so nothing the program says can be mangled by troff
# (backslashes and leading dots are escaped).
set -eu
prog=$1
out=$2
title=${3:-phcluster}
name=$(basename "$prog")
help=$("$prog" --help) || { echo "render-man: '$prog --help' failed" >&2; exit 1; }
version=$("$prog" --version 2>/dev/null | head -n 1) || version="$name"
# One-line description: the second line of --help (the first is "usage: ...").
desc=$(printf '%s\n' "$help" | sed -n '2p')
esc() { sed -e 's/\\/\\e/g' -e 's/^\([.'"'"']\)/\\\&\1/'; }
tmp="$out.tmp.$$"
{
    printf '.TH %s 1 "" "%s" "%s"\n' "$(printf '%s' "$name" | tr "[:lower:]" "[:upper:]")" \
        "$(printf '%s' "$version" | esc)" "$title"
    printf '.SH NAME\n%s \\- %s\n' "$name" "$(printf '%s' "$desc" | esc)"
    printf '.SH DESCRIPTION\n.nf\n'
    printf '%s\n' "$help" | esc
    printf '.fi\n.SH SEE ALSO\nphcoord(1), phworker(1), phclient(1)\n'
} >"$tmp"
mv "$tmp" "$out"
