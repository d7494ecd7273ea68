#!/usr/bin/env bash
# The man pages and bash completion that `atelier generate-docs` writes
# follow the CLI's own flags. For every command that --help lists (nested
# ones too): a page atelier-<command>.1 that man renders without a warning
# and that names every flag of the command's --help; completion that offers
# exactly those flags, the subcommands, a flag's listed values and files.
# Hidden commands have neither. The package test runs it on the installed
# files; alone it checks a freshly generated set.
# Usage: check_cli_docs.sh ATELIER [MAN_DIR COMPLETION_FILE]
set -euo pipefail
atelier=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ $# -ge 3 ]; then
  man_dir=$2 completion=$3
else
  man_dir=$work/man1 completion=$work/atelier.bash
  "$atelier" generate-docs --quiet --man-dir "$man_dir" --bash-completion "$completion"
fi
# Every command's --help from one process (each start loads libtorch); two
# are checked against a real --help below.
help_dir=$work/help
"$atelier" generate-docs --quiet --help-dir "$help_dir"
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# man-db's seccomp sandbox is refused in some containers; the page is ours.
export MAN_DISABLE_SECCOMP=1 MANPAGER=cat PAGER=cat MANWIDTH=200 LC_ALL=C.UTF-8

# The completions bash offers for a command line whose last word is being typed.
complete_line() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _atelier; printf "%s\n" "${COMPREPLY[@]}"' \
    _ "$completion" "$@" | sed '/^$/d' | sort
}

# What --help lists: subcommands, and flags (-c, --content ...; a flag's
# value, default or {flag value} cut off).
help_subcommands() { sed -n '/^Subcommands:/,$p' | sed -n 's/^  \([a-z][a-z0-9-]*\) .*/\1/p'; }
help_flags() { sed -n 's/^  \(-[^ ]*\).*/\1/p' | tr ',' '\n' | sed 's/[={].*//' | sort -u; }

checked=0
check_command() {  # check_command WORD... (atelier models list)
  local help page rendered warnings flags
  help=$(< "$help_dir/$(IFS=-; echo "$*").help")
  page=$man_dir/$(IFS=-; echo "$*").1
  [ -f "$page" ] || page=$page.gz
  [ -f "$page" ] || fail "no man page for '$*' ($page)"
  warnings=$(man --warnings -l "$page" 2>&1 > /dev/null) || fail "man cannot render $page"
  [ -z "$warnings" ] || fail "man warns about $page: $warnings"
  rendered=$(man -l "$page" 2> /dev/null)
  grep -q "^NAME" <<< "$rendered" || fail "$page has no NAME section"
  flags=$(help_flags <<< "$help")
  for flag in $flags; do
    grep -qE -- "(^|[ ,])$flag([ ,]|\$)" <<< "$rendered" || fail "$page does not show $flag"
  done
  [ "$(complete_line "$@" -)" = "$flags" ] ||
    fail "completion of '$* -' is not the flags of its --help: $(complete_line "$@" - | tr '\n' ' ')"
  local subcommands
  subcommands=$(help_subcommands <<< "$help" | sort)
  [ "$(complete_line "$@" '')" = "$subcommands" ] || [ -z "$subcommands" ] ||
    fail "completion of '$* ' is not its subcommands: $(complete_line "$@" '' | tr '\n' ' ')"
  checked=$((checked + 1))
  for sub in $subcommands; do check_command "$@" "$sub"; done
}
check_command atelier
for command in "stylize" "models list"; do
  # shellcheck disable=SC2086
  [ "$("$atelier" $command --help | sed "s|^Usage: $atelier |Usage: atelier |")" = "$(< "$help_dir/atelier-${command// /-}.help")" ] ||
    fail "generate-docs --help-dir differs from 'atelier $command --help'"
done

pages=$(find "$man_dir" -name 'atelier*.1*' | wc -l)
[ "$pages" -eq "$checked" ] || fail "$pages man pages for $checked commands"
[ ! -e "$man_dir/atelier-generate-docs.1" ] && [ ! -e "$man_dir/atelier-generate-docs.1.gz" ] ||
  fail "the hidden generate-docs has a man page"
complete_line atelier '' | grep -qx generate-docs && fail "completion offers the hidden generate-docs"

# Values: listed ones, none for a number, files for the rest; --flag=value too.
[ "$(complete_line atelier stylize --method '')" = "$(printf 'adain\ngatys\nmagenta')" ] ||
  fail "completion of --method: $(complete_line atelier stylize --method '' | tr '\n' ' ')"
[ "$(complete_line atelier stylize --pooling = a)" = "avg" ] || fail "completion of --pooling=a"
[ -z "$(complete_line atelier stylize --size '')" ] || fail "completion offers values for the number --size"
[ -z "$(complete_line atelier stylize --shard '')" ] || fail "completion offers values for --shard I/N"
mkdir "$work/photos" && touch "$work/photos/tubingen.jpg"
[ "$(complete_line atelier stylize -o "$work/photos" -c "$work/photos/tub")" = "$work/photos/tubingen.jpg" ] ||
  fail "completion of -c does not offer files"
[ "$(complete_line atelier models l)" = "list" ] || fail "completion of 'atelier models l'"
echo "cli docs: $checked commands, each with a man page and completion that follow its --help"
