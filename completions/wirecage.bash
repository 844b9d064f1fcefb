# bash completion for wirecage                              -*- shell-script -*-
# Generated from wirecage's argparse parser by `python scripts/gen_docs.py`; do not edit.
# Installed as share/bash-completion/completions/wirecage.bash;
# or: eval "$(wirecage completion bash)"

# Profile names: the stems of *.conf and *.toml files in the profile search path, found by the
# shell itself so that a Tab does not start Python. Names starting with a dot (the store lists
# them too) only for a word $1 that starts with one, as for hidden files.
_wirecage_profiles()
{
    local config=${XDG_CONFIG_HOME-} dir file name glob_options hidden=
    local -A seen=()
    [[ $config == /* ]] || config=$HOME/.config
    [[ ${1-} == .* ]] && hidden=.
    # The same globs whatever the user's options: no match is no file, not an error.
    glob_options=$(shopt -p nullglob failglob nocaseglob dotglob)
    shopt -s nullglob
    shopt -u failglob nocaseglob dotglob
    for dir in "$config/wirecage/profiles" /etc/wirecage/profiles /etc/wireguard; do
        for file in "$dir/$hidden"*.conf "$dir/$hidden"*.toml; do
            [[ -f $file ]] || continue
            name=${file##*/}
            name=${name%.*}
            # corp.conf.conf: "up corp.conf" would read a path, so the store lists no such name.
            [[ $name =~ ^[A-Za-z0-9_.+=-]{1,64}$ && $name != *.conf && $name != *.toml ]] || continue
            [[ -z ${seen[$name]-} ]] || continue
            seen[$name]=1
            printf '%s\n' "$name"
        done
    done
    eval "$glob_options"
}

# The words from index $1 on are a command line of their own: complete it as bash would.
_wirecage_command()
{
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
}

# Offer values of one kind for $cur.
_wirecage_values()
{
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
        words=${1#choices:}
        COMPREPLY=($(compgen -W "${words//,/$'\n'}" -- "$cur")) ;;
    esac
}

# The kind of positional slot number $1 of the current command, in $kind.
_wirecage_slot()
{
    local -a list=($slots)
    local n=${#list[@]}
    kind=none
    if (($1 <= n)); then
        kind=${list[$1 - 1]%...}
    elif ((n > 0)) && [[ ${list[n - 1]} == *... ]]; then
        kind=${list[n - 1]%...}
    fi
}

# What command $1 accepts: subcommands, options, options that take a value (with
# the kind of value) and positional slots, in the caller's variables.
_wirecage_spec()
{
    case $1 in
    'wirecage')
        subcommands='up profile genkey pubkey genpsk completion'
        options='-h --help --version -v --verbose -q --quiet --debug'
        valued=''
        slots='' ;;
    'wirecage up')
        subcommands=''
        options='-h --help -v --verbose -q --quiet --debug --wg-public-key --wg-private-key-file --wg-endpoint --wg-address --dns --user --wait --wait-timeout'
        valued=' --wg-public-key=none --wg-private-key-file=file --wg-endpoint=none --wg-address=none --dns=none --user=user --wait-timeout=none '
        slots='profile command' ;;
    'wirecage profile')
        subcommands='list show import new edit remove rename export check'
        options='-h --help'
        valued=''
        slots='' ;;
    'wirecage profile list')
        subcommands=''
        options='-h --help --json --names'
        valued=''
        slots='' ;;
    'wirecage profile show')
        subcommands=''
        options='-h --help --show-keys --json'
        valued=''
        slots='profile' ;;
    'wirecage profile import')
        subcommands=''
        options='-h --help --name --format --force'
        valued=' --name=none --format=choices:conf,toml '
        slots='file' ;;
    'wirecage profile new')
        subcommands=''
        options='-h --help --endpoint --peer-public-key --address --dns --allowed-ips --preshared-key-file --format'
        valued=' --endpoint=none --peer-public-key=none --address=none --dns=none --allowed-ips=none --preshared-key-file=file --format=choices:conf,toml '
        slots='none' ;;
    'wirecage profile edit')
        subcommands=''
        options='-h --help'
        valued=''
        slots='profile' ;;
    'wirecage profile remove')
        subcommands=''
        options='-h --help --yes -y'
        valued=''
        slots='profile' ;;
    'wirecage profile rename')
        subcommands=''
        options='-h --help'
        valued=''
        slots='profile none' ;;
    'wirecage profile export')
        subcommands=''
        options='-h --help --format'
        valued=' --format=choices:conf,toml '
        slots='profile' ;;
    'wirecage profile check')
        subcommands=''
        options='-h --help'
        valued=''
        slots='profile' ;;
    'wirecage genkey')
        subcommands=''
        options='-h --help'
        valued=''
        slots='' ;;
    'wirecage pubkey')
        subcommands=''
        options='-h --help'
        valued=''
        slots='' ;;
    'wirecage genpsk')
        subcommands=''
        options='-h --help'
        valued=''
        slots='' ;;
    'wirecage completion')
        subcommands=''
        options='-h --help'
        valued=''
        slots='choices:bash,zsh,fish' ;;
    esac
}

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
