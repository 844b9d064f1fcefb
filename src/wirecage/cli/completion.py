"""Shell completion scripts for bash, zsh and fish, written from the argparse parser.

Theory of operation
-------------------
``wirecage.cli.spec`` turns the parser into a tree of commands; each function below turns
that tree into one shell's script. The same code serves three uses, so they cannot disagree:
``scripts/gen_docs.py`` writes ``completions/*`` (committed, and installed by ``pip install``
into the standard share/ directories), ``wirecage completion SHELL`` prints the script at
run time (no shtab or other generator needed on the user's machine), and the drift test
regenerates and compares.

We write the scripts ourselves rather than with shtab because the parts that matter are the
ones a generic generator cannot know: profile names come from globbing the profile search
path in the shell itself (no Python start per Tab), and after ``--`` in ``wirecage up`` the
rest of the line is a command of its own, handed to the shell's normal command completion
(bash-completion's ``_command_offset``, zsh's ``_normal``, fish's
``__fish_complete_subcommand``), which then completes that command's own arguments.

Every script knows, per command: its subcommands, its options (and which take a value and of
what kind) and its positional slots. bash and fish walk the words before the cursor with that
table; zsh gets one ``_arguments`` function per command, its native idiom, with descriptions.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable

from wirecage.cli import parser as cli_parser
from wirecage.cli.spec import CHOICES, NONE, Command, Option, Positional, cli_spec
from wirecage.profiles import store

REGENERATE = "python scripts/gen_docs.py"
HEADER = "Generated from wirecage's argparse parser by `{cmd}`; do not edit."

# The profile search path of wirecage.profiles.store (first match wins), globbed by the
# shells from $config: $XDG_CONFIG_HOME when it is absolute (the XDG rule), else ~/.config.
# Only the stems that are valid profile names are offered, as `profile list --names` does.
PROFILE_USER_DIR = "wirecage/profiles"
PROFILE_SYSTEM_DIRS = tuple(str(d) for d in store.SYSTEM_PROFILE_DIRS)
PROFILE_DIRS = " ".join([f'"$config/{PROFILE_USER_DIR}"', *PROFILE_SYSTEM_DIRS])
PROFILE_NAME_ERE = "^" + store.NAME_RE.pattern + "$"

_WORD = re.compile(r"^[A-Za-z0-9_.+=:/@%^-]+$")  # needs no quoting in any of the three shells


def _check_word(word: str, what: str) -> str:
    # Subcommand names, option strings and choices are pasted into case patterns and word
    # lists; anything exotic there is a mistake in the parser, caught at generation time.
    if not _WORD.match(word) or "," in word:
        raise ValueError(f"cannot complete {what} {word!r}: use plain words")
    return word


def _sq(text: str) -> str:
    """Single-quote for bash and zsh."""
    return "'" + text.replace("'", "'\\''") + "'"


def _fish_q(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _slot_kinds(cmd: Command) -> list[str]:
    """The positional slots of cmd for bash and fish: a kind each, "..." when it repeats."""
    kinds = []
    for p in cmd.positionals:
        kind = p.complete
        if kind == CHOICES:
            kind = "choices:" + ",".join(_check_word(c, "choice") for c in p.choices)
        kinds.append(kind + ("..." if p.repeat else ""))
    return kinds


def _value_kind(opt: Option) -> str:
    if opt.complete == CHOICES:
        return "choices:" + ",".join(_check_word(c, "choice") for c in opt.choices)
    return opt.complete


# ---------------------------------------------------------------------------------------- bash

_BASH_PRELUDE = r"""# bash completion for wirecage                              -*- shell-script -*-
# {header}
# Installed as share/bash-completion/completions/wirecage.bash;
# or: eval "$(wirecage completion bash)"

# Profile names: the stems of *.conf and *.toml files in the profile search path, found by the
# shell itself so that a Tab does not start Python. Names starting with a dot (the store lists
# them too) only for a word $1 that starts with one, as for hidden files.
_wirecage_profiles()
{{
    local config=${{XDG_CONFIG_HOME-}} dir file name glob_options hidden=
    local -A seen=()
    [[ $config == /* ]] || config=$HOME/.config
    [[ ${{1-}} == .* ]] && hidden=.
    # The same globs whatever the user's options: no match is no file, not an error.
    glob_options=$(shopt -p nullglob failglob nocaseglob dotglob)
    shopt -s nullglob
    shopt -u failglob nocaseglob dotglob
    for dir in {dirs}; do
        for file in "$dir/$hidden"*.conf "$dir/$hidden"*.toml; do
            [[ -f $file ]] || continue
            name=${{file##*/}}
            name=${{name%.*}}
            # corp.conf.conf: "up corp.conf" would read a path, so the store lists no such name.
            [[ $name =~ {name_ere} && $name != *.conf && $name != *.toml ]] || continue
            [[ -z ${{seen[$name]-}} ]] || continue
            seen[$name]=1
            printf '%s\n' "$name"
        done
    done
    eval "$glob_options"
}}

# The words from index $1 on are a command line of their own: complete it as bash would.
_wirecage_command()
{{
    if declare -F _command_offset >/dev/null; then
        _command_offset "$1"
    elif (($1 == COMP_CWORD)); then
        local IFS=$'\n'
        COMPREPLY=($(compgen -c -- "$cur"))
    else
        compopt -o filenames 2>/dev/null
        local IFS=$'\n'
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}}

# Offer values of one kind for $cur.
_wirecage_values()
{{
    local IFS=$'\n' words
    case $1 in
    profile)
        if [[ $cur == */* ]]; then
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -f -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$(_wirecage_profiles "$cur")" -- "$cur"))
        fi ;;
    file)
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -- "$cur")) ;;
    user)
        COMPREPLY=($(compgen -u -- "$cur")) ;;
    choices:*)
        words=${{1#choices:}}
        COMPREPLY=($(compgen -W "${{words//,/$'\n'}}" -- "$cur")) ;;
    esac
}}

# The kind of positional slot number $1 of the current command, in $kind.
_wirecage_slot()
{{
    local -a list=($slots)
    local n=${{#list[@]}}
    kind=none
    if (($1 <= n)); then
        kind=${{list[$1 - 1]%...}}
    elif ((n > 0)) && [[ ${{list[n - 1]}} == *... ]]; then
        kind=${{list[n - 1]%...}}
    fi
}}
"""

_BASH_MAIN = r"""
_wirecage()
{
    local cur=${COMP_WORDS[COMP_CWORD]} word path=wirecage expect='' dashdash=0 npos=0 i kind
    local subcommands options valued slots
    _wirecage_spec "$path"
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if [[ -n $expect ]]; then
            # The option's value; "=" is a word of its own when COMP_WORDBREAKS holds it.
            [[ $word == = ]] || expect=''
        elif ((!dashdash)) && [[ $word == -- ]]; then
            dashdash=1
            if [[ " $slots " == *" command "* ]]; then
                _wirecage_command $((i + 1))
                return
            fi
        elif ((!dashdash)) && [[ $word == -?* ]]; then
            [[ $word != *=* && $valued == *" $word="* ]] && expect=$word
        elif ((npos == 0)) && [[ " $subcommands " == *" $word "* ]]; then
            path+=" $word"
            _wirecage_spec "$path"
        else
            _wirecage_slot $((++npos))
            if [[ $kind == command ]]; then
                _wirecage_command "$i"
                return
            fi
        fi
    done

    if [[ -n $expect ]]; then
        [[ $cur == = ]] && cur=''
        kind=${valued#* "$expect"=}
        _wirecage_values "${kind%% *}"
        return
    fi
    if ((!dashdash)) && [[ $cur == -* ]]; then
        if [[ $cur == --*=* && $valued == *" ${cur%%=*}="* ]]; then
            # COMP_WORDBREAKS without "=": the whole --option=value is one word.
            local option=${cur%%=*}
            kind=${valued#* "$option"=}
            cur=${cur#*=}
            _wirecage_values "${kind%% *}"
            COMPREPLY=("${COMPREPLY[@]/#/$option=}")
            return
        fi
        COMPREPLY=($(compgen -W "$options" -- "$cur"))
        return
    fi
    if ((npos == 0)) && [[ -n $subcommands ]]; then
        COMPREPLY=($(compgen -W "$subcommands" -- "$cur"))
        return
    fi
    _wirecage_slot $((npos + 1))
    if [[ $kind == command ]]; then
        _wirecage_command "$COMP_CWORD"
        return
    fi
    _wirecage_values "$kind"
}

complete -F _wirecage wirecage
"""


def bash_script(root: Command | None = None) -> str:
    root = root or cli_spec()
    cases = []
    for cmd in root.walk():
        subs = " ".join(_check_word(s.path[-1], "subcommand") for s in cmd.subcommands)
        options = " ".join(_check_word(f, "option") for o in cmd.options for f in o.flags)
        valued = " ".join(
            f"{flag}={_value_kind(o)}" for o in cmd.options if o.takes_value for flag in o.flags
        )
        cases.append(
            f"    {_sq(cmd.name)})\n"
            f"        subcommands={_sq(subs)}\n"
            f"        options={_sq(options)}\n"
            f"        valued={_sq(' ' + valued + ' ' if valued else '')}\n"
            f"        slots={_sq(' '.join(_slot_kinds(cmd)))} ;;"
        )
    spec = (
        "\n# What command $1 accepts: subcommands, options, options that take a value (with\n"
        "# the kind of value) and positional slots, in the caller's variables.\n"
        "_wirecage_spec()\n{\n    case $1 in\n" + "\n".join(cases) + "\n    esac\n}\n"
    )
    prelude = _BASH_PRELUDE.format(
        header=HEADER.format(cmd=REGENERATE),
        dirs=PROFILE_DIRS,
        name_ere=PROFILE_NAME_ERE,
    )
    return prelude + spec + _BASH_MAIN


# ----------------------------------------------------------------------------------------- zsh

_ZSH_PRELUDE = r"""#compdef wirecage
# zsh completion for wirecage.
# {header}
# Installed as share/zsh/site-functions/_wirecage; or: source <(wirecage completion zsh)

# Profile names: the stems of *.conf and *.toml files in the profile search path, globbed by
# the shell itself so that a Tab does not start Python. Names starting with a dot (the store
# lists them too) only for a word that starts with one, as for hidden files. A word with a "/"
# is a path.
_wirecage_profiles() {{
  if [[ $PREFIX == */* ]]; then
    _files
    return
  fi
  local config=$XDG_CONFIG_HOME dir name hidden= MATCH MBEGIN MEND expl
  local -a names
  [[ $config == /* ]] || config=$HOME/.config
  [[ $PREFIX == .* ]] && hidden=D
  for dir in {dirs}; do
    for name in $dir/*.(conf|toml)(N$hidden-.:t:r); do
      # Not corp.conf (of corp.conf.conf): "up corp.conf" would read a path.
      [[ $name =~ '{name_ere}' && $name != *.(conf|toml) ]] && names+=($name)
    done
  done
  names=(${{(u)names}})
  _wanted profiles expl 'profile' compadd -a names
}}
"""

_ZSH_EPILOGUE = r"""
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  # Autoloaded from $fpath by compinit: this file is the body of _wirecage.
  _wirecage "$@"
else
  # Sourced: register the function.
  compdef _wirecage wirecage
fi
"""


def _zsh_escape_brackets(text: str) -> str:
    # Inside an _arguments [description], backslash, brackets and colons are special.
    return re.sub(r"([\\\[\]:])", r"\\\1", text)


def _zsh_escape_colons(text: str) -> str:
    return re.sub(r"([\\:])", r"\\\1", text)


def _zsh_action(kind: str, choices: tuple[str, ...]) -> str:
    match kind:
        case cli_parser.PROFILE:
            return "_wirecage_profiles"
        case cli_parser.FILE:
            return "_files"
        case cli_parser.USER:
            return "_users"
        case cli_parser.COMMAND:
            return "_normal"
        case "choices":
            return "(" + " ".join(_check_word(c, "choice") for c in choices) + ")"
        case _:
            return " "  # show the message, offer nothing


def _zsh_option(opt: Option) -> str:
    desc = "[" + _zsh_escape_brackets(opt.help) + "]"
    if opt.exits:
        exclusion = "(- : *)"
    elif opt.repeatable:
        exclusion = "*"
    elif len(opt.flags) > 1:
        exclusion = "(" + " ".join(opt.flags) + ")"
    else:
        exclusion = ""
    value = ""
    if opt.takes_value:
        # The message zsh shows above the values: the metavar, or for a bare {a,b} the name.
        metavar = opt.metavar or "value"
        if metavar.startswith("{"):
            metavar = opt.flags[-1].lstrip("-")
        message = _zsh_escape_colons(metavar)
        value = ":" + message + ":" + _zsh_action(opt.complete, opt.choices)

    def spec(flag: str) -> str:
        # --long= accepts "--long value" and "--long=value"; -s+ accepts "-s value" and "-svalue".
        suffix = ("=" if flag.startswith("--") else "+") if opt.takes_value else ""
        return flag + suffix

    flags = [_check_word(f, "option") for f in opt.flags]
    if len(flags) == 1:
        return _sq(exclusion + spec(flags[0]) + desc + value)
    return _sq(exclusion) + "{" + ",".join(spec(f) for f in flags) + "}" + _sq(desc + value)


def _zsh_positional(pos: Positional) -> str:
    if pos.complete == cli_parser.COMMAND:
        # "*:::" narrows $words to the words this spec covers, so _normal sees a command line.
        return _sq("*::: :_normal")
    message = _zsh_escape_colons(pos.metavar.lower())
    return _sq(
        ("*" if pos.repeat else "") + ":" + message + ":" + _zsh_action(pos.complete, pos.choices)
    )


def _zsh_command_line(cmd: Command) -> list[str]:
    """Where the command line of its own starts, found as bash and fish find it.

    ``_arguments`` with a ``*:::`` spec for it would take an option typed after the profile
    (``wirecage up work --wa``) for the command's first word; so the words are walked here
    with the table of options that take a value, and ``_arguments`` sees wirecage's own slots
    only.
    """
    index = next(i for i, p in enumerate(cmd.positionals) if p.complete == cli_parser.COMMAND)
    before = cmd.positionals[:index]
    # Slots that take every further word leave only "--" to start the command line.
    slots = 1_000_000 if any(p.repeat for p in before) else len(before)
    valued = [_check_word(f, "option") for o in cmd.options if o.takes_value for f in o.flags]
    return [
        "  # The rest of the line is a command of its own after --, or from the first word after",
        "  # wirecage's own arguments: complete it as zsh would.",
        f"  local -a valued=({' '.join(valued)})",
        "  local i=2 npos=0 start=0",
        "  while (( i < CURRENT )); do",
        "    if [[ $words[i] == -- ]]; then",
        "      start=$(( i + 1 ))",
        "      break",
        "    elif [[ $words[i] == -?* ]]; then",
        "      # An option; its value is the next word unless given with =.",
        "      [[ $words[i] != *=* ]] && (( ${valued[(Ie)$words[i]]} )) && (( i++ ))",
        f"    elif (( ++npos > {slots} )); then",
        "      start=$i",
        "      break",
        "    fi",
        "    (( i++ ))",
        "  done",
        f"  if (( !start && i == CURRENT && npos >= {slots} )) && [[ $PREFIX != -* ]]; then",
        "    start=$CURRENT",
        "  fi",
        "  if (( start )); then",
        "    shift $(( start - 1 )) words",
        "    (( CURRENT -= start - 1 ))",
        "    _normal",
        "    return",
        "  fi",
    ]


def _zsh_func_name(cmd: Command) -> str:
    return "_" + "__".join(re.sub(r"[^A-Za-z0-9]", "_", p) for p in cmd.path)


def _zsh_function(cmd: Command) -> str:
    lines = [f"{_zsh_func_name(cmd)}() {{"]
    specs = [_zsh_option(o) for o in cmd.options]
    if cmd.subcommands:
        lines += [
            "  local curcontext=$curcontext state state_descr line ret=1",
            "  typeset -A opt_args",
            "  local -a subcommands=(",
        ]
        for sub in cmd.subcommands:
            name = _check_word(sub.path[-1], "subcommand")
            lines.append("    " + _sq(_zsh_escape_colons(name) + ":" + sub.help))
        lines.append("  )")
        specs += [_sq(": :->subcommand"), _sq("*:: :->argument")]
        lines.append("  _arguments -C -s \\\n    " + " \\\n    ".join(specs) + " && ret=0")
        lines += [
            "  case $state in",
            "    subcommand)",
            f"      _describe -t commands {_sq(cmd.name + ' command')} subcommands && ret=0 ;;",
            "    argument)",
            f"      curcontext=${{curcontext%:*:*}}:{'-'.join(cmd.path)}-$words[1]:",
            "      case $words[1] in",
        ]
        for sub in cmd.subcommands:
            lines.append(f"        {sub.path[-1]}) {_zsh_func_name(sub)} && ret=0 ;;")
        lines += ["      esac ;;", "  esac", "  return ret", "}"]
        return "\n".join(lines)
    if cmd.takes_command_line:
        lines += _zsh_command_line(cmd)
    specs += [_zsh_positional(p) for p in cmd.positionals if p.complete != cli_parser.COMMAND]
    lines.append("  _arguments -s -S \\\n    " + " \\\n    ".join(specs))
    lines.append("}")
    return "\n".join(lines)


def zsh_script(root: Command | None = None) -> str:
    root = root or cli_spec()
    prelude = _ZSH_PRELUDE.format(
        header=HEADER.format(cmd=REGENERATE),
        dirs=PROFILE_DIRS,
        name_ere=PROFILE_NAME_ERE,
    )
    # Children first, so that the file reads bottom-up to the entry point _wirecage.
    functions = [_zsh_function(cmd) for cmd in reversed(list(root.walk()))]
    return prelude + "\n" + "\n\n".join(functions) + "\n" + _ZSH_EPILOGUE


# ---------------------------------------------------------------------------------------- fish

_FISH_PRELUDE = r"""# fish completion for wirecage.
# {header}
# Installed as share/fish/vendor_completions.d/wirecage.fish; or: wirecage completion fish | source

# Sourced rather than found in $fish_complete_path: fish would still autoload a wirecage.fish
# from that path at the first Tab, such as the one fish_update_completions writes from the man
# page, and add its rules (every option, for every subcommand) to these. So load it now, and
# drop every rule before adding ours.
if not contains -- (status dirname) $fish_complete_path
    complete --do-complete='wirecage -' >/dev/null
    complete -c wirecage -e
end

# Profile names: the stems of *.conf and *.toml files in the profile search path, globbed by
# the shell itself so that a Tab does not start Python. Names starting with a dot (the store
# lists them too) are listed; fish offers them only for a word that starts with one, as for
# hidden files. A word with a "/" is a path.
function __wirecage_profiles
    set -l token (commandline -ct)
    if string match -q -- '*/*' $token
        __fish_complete_path $token
        return
    end
    set -l config "$XDG_CONFIG_HOME"
    string match -q -- '/*' $config; or set config ~/.config
    for dir in {dirs}
        for file in $dir/*.{{conf,toml}} $dir/.*.{{conf,toml}}
            test -f $file; or continue
            string replace -r -- '^.*/(.+)\.(conf|toml)$' '$1' $file
        end
    end | string match -r -- '{name_ere}' | string match -v -r -- '\.(conf|toml)$'
end
"""

_FISH_PARSE = r"""
# Where the token being completed stands. Prints the command path, then one of:
#   "value"          the value of an option (fish completes it from the option's rule),
#   "subcommand",
#   "argument N"     positional slot N,
#   "command" and the words of the command line after wirecage's own (after "--" in up).
function __wirecage_parse
    set -l tokens (commandline -opc)
    set -l path wirecage
    set -l subcommands (__wirecage_subcommands $path)
    set -l valued (__wirecage_valued $path)
    set -l slots (__wirecage_slots $path)
    set -l expect 0
    set -l dashdash 0
    set -l npos 0
    set -l i 1
    while test $i -lt (count $tokens)
        set i (math $i + 1)
        set -l token $tokens[$i]
        if test $expect = 1
            set expect 0
        else if test $dashdash = 0 -a "$token" = --
            set dashdash 1
            if contains -- command $slots
                set -e tokens[1..$i]
                printf '%s\n' $path command $tokens
                return
            end
        else if test $dashdash = 0; and string match -q -- '-?*' $token
            if not string match -q -- '*=*' $token; and contains -- $token $valued
                set expect 1
            end
        else if test $npos = 0; and contains -- $token $subcommands
            set path "$path $token"
            set subcommands (__wirecage_subcommands $path)
            set valued (__wirecage_valued $path)
            set slots (__wirecage_slots $path)
        else
            set npos (math $npos + 1)
            if test (__wirecage_slot_kind $npos $slots) = command
                set -e tokens[1..(math $i - 1)]
                printf '%s\n' $path command $tokens
                return
            end
        end
    end
    if test $expect = 1
        printf '%s\n' $path value
    else if test $npos = 0 -a (count $subcommands) -gt 0
        printf '%s\n' $path subcommand
    else if test $dashdash = 0; and string match -q -- '-*' (commandline -ct)
        # An option of ours, even where a command line could start (wirecage up work --wa).
        printf '%s\n' $path argument (math $npos + 1)
    else if test (__wirecage_slot_kind (math $npos + 1) $slots) = command
        printf '%s\n' $path command
    else
        printf '%s\n' $path argument (math $npos + 1)
    end
end

function __wirecage_slot_kind -a n
    set -l slots $argv[2..-1]
    set -l count (count $slots)
    if test $n -le $count
        string replace -- '...' '' $slots[$n]
    else if test $count -gt 0; and string match -q -- '*...' $slots[-1]
        string replace -- '...' '' $slots[-1]
    else
        echo none
    end
end

# Conditions for the rules below.
function __wirecage_using -a path
    set -l state (__wirecage_parse)
    test "$state[1]" = "$path" -a "$state[2]" != command
end

function __wirecage_subcommand -a path
    set -l state (__wirecage_parse)
    test "$state[1]" = "$path" -a "$state[2]" = subcommand
end

function __wirecage_argument -a path n
    set -l state (__wirecage_parse)
    test "$state[1]" = "$path" -a "$state[2]" = argument -a "$state[3]" = "$n"
end

function __wirecage_in_command
    set -l state (__wirecage_parse)
    test "$state[2]" = command
end

# The rest of the line is a command of its own: complete it as fish would. (Not with
# __fish_complete_subcommand, whose "complete -C $line" fails on a line starting with "-",
# and which joins the words without quoting them again.)
function __wirecage_complete_command
    set -l state (__wirecage_parse)
    set -e state[1..2]
    complete --do-complete=(string join ' ' -- (string escape -- $state) (commandline -ct))
end
"""


def _fish_switch(name: str, doc: str, rows: dict[str, list[str]]) -> str:
    lines = [f"# {doc}", f"function {name} -a path", "    switch $path"]
    for path, words in rows.items():
        if words:
            lines.append(f"        case {_fish_q(path)}")
            lines.append("            printf '%s\\n' " + " ".join(_fish_q(w) for w in words))
    lines += ["    end", "end"]
    return "\n".join(lines)


def _fish_values(kind: str, choices: tuple[str, ...]) -> list[str]:
    match kind:
        case cli_parser.PROFILE:
            return ["-f", "-a", _fish_q("(__wirecage_profiles)")]
        case cli_parser.FILE:
            return ["-F"]
        case cli_parser.USER:
            return ["-f", "-a", _fish_q("(__fish_complete_users)")]
        case "choices":
            return ["-f", "-a", _fish_q(" ".join(_check_word(c, "choice") for c in choices))]
        case _:
            return ["-f"]


def fish_script(root: Command | None = None) -> str:
    root = root or cli_spec()
    commands = list(root.walk())
    tables = [
        _fish_switch(
            "__wirecage_subcommands",
            "The subcommands of each command.",
            {
                c.name: [_check_word(s.path[-1], "subcommand") for s in c.subcommands]
                for c in commands
            },
        ),
        _fish_switch(
            "__wirecage_valued",
            "The options of each command that take a value.",
            {c.name: [f for o in c.options if o.takes_value for f in o.flags] for c in commands},
        ),
        _fish_switch(
            "__wirecage_slots",
            'The positional slots of each command: a kind each, "..." when it repeats.',
            {c.name: _slot_kinds(c) for c in commands},
        ),
    ]
    rules = [
        "# Nothing is a file name unless a rule says so.",
        "complete -c wirecage -f",
        "complete -c wirecage -n __wirecage_in_command -a '(__wirecage_complete_command)'",
    ]
    for cmd in commands:
        rules.append(f"\n# {cmd.name}")
        for opt in cmd.options:
            rule = ["complete -c wirecage", "-n", _fish_q(f"__wirecage_using {_fish_q(cmd.name)}")]
            for flag in opt.flags:
                _check_word(flag, "option")
                if flag.startswith("--"):
                    rule += ["-l", flag[2:]]
                elif len(flag) == 2:
                    rule += ["-s", flag[1:]]
                else:
                    rule += ["-o", flag[1:]]
            if opt.takes_value:
                rule += ["-r", *_fish_values(opt.complete, opt.choices)]
            rule += ["-d", _fish_q(opt.help)]
            rules.append(" ".join(rule))
        condition = _fish_q(f"__wirecage_subcommand {_fish_q(cmd.name)}")
        for sub in cmd.subcommands:
            rules.append(
                f"complete -c wirecage -n {condition} -a {_fish_q(sub.path[-1])} "
                f"-d {_fish_q(sub.help)}"
            )
        for n, pos in enumerate(cmd.positionals, start=1):
            if pos.complete in (NONE, cli_parser.COMMAND):
                continue  # nothing to offer; the command line has its own rule
            condition = _fish_q(f"__wirecage_argument {_fish_q(cmd.name)} {n}")
            # Every profile name says "profile", whatever the slot's metavar (NAME, OLD).
            what = "profile" if pos.complete == cli_parser.PROFILE else pos.metavar.lower()
            rules.append(
                f"complete -c wirecage -n {condition} "
                + " ".join(_fish_values(pos.complete, pos.choices))
                + f" -d {_fish_q(what)}"
            )
    prelude = _FISH_PRELUDE.format(
        header=HEADER.format(cmd=REGENERATE), dirs=PROFILE_DIRS, name_ere=PROFILE_NAME_ERE
    )
    return prelude + _FISH_PARSE + "\n" + "\n\n".join(tables) + "\n\n" + "\n".join(rules) + "\n"


GENERATORS: dict[str, Callable[[Command | None], str]] = {
    "bash": bash_script,
    "zsh": zsh_script,
    "fish": fish_script,
}

# Where each script is committed in the repository and installed under share/.
FILES = {
    "bash": "completions/wirecage.bash",
    "zsh": "completions/_wirecage",
    "fish": "completions/wirecage.fish",
}


def cmd_completion(args: argparse.Namespace) -> int:
    """``wirecage completion SHELL``: print the script, generated from this very parser."""
    sys.stdout.write(GENERATORS[args.shell](None))
    return 0
