# fish completion for wirecage.
# Generated from wirecage's argparse parser by `python scripts/gen_docs.py`; do not edit.
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
    for dir in "$config/wirecage/profiles" /etc/wirecage/profiles /etc/wireguard
        for file in $dir/*.{conf,toml} $dir/.*.{conf,toml}
            test -f $file; or continue
            string replace -r -- '^.*/(.+)\.(conf|toml)$' '$1' $file
        end
    end | string match -r -- '^[A-Za-z0-9_.+=-]{1,64}$' | string match -v -r -- '\.(conf|toml)$'
end

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

# The subcommands of each command.
function __wirecage_subcommands -a path
    switch $path
        case 'wirecage'
            printf '%s\n' 'up' 'profile' 'genkey' 'pubkey' 'genpsk' 'completion'
        case 'wirecage profile'
            printf '%s\n' 'list' 'show' 'import' 'new' 'edit' 'remove' 'rename' 'export' 'check'
    end
end

# The options of each command that take a value.
function __wirecage_valued -a path
    switch $path
        case 'wirecage up'
            printf '%s\n' '--wg-public-key' '--wg-private-key-file' '--wg-endpoint' '--wg-address' '--dns' '--user' '--wait-timeout'
        case 'wirecage profile import'
            printf '%s\n' '--name' '--format'
        case 'wirecage profile new'
            printf '%s\n' '--endpoint' '--peer-public-key' '--address' '--dns' '--allowed-ips' '--preshared-key-file' '--format'
        case 'wirecage profile export'
            printf '%s\n' '--format'
    end
end

# The positional slots of each command: a kind each, "..." when it repeats.
function __wirecage_slots -a path
    switch $path
        case 'wirecage up'
            printf '%s\n' 'profile' 'command'
        case 'wirecage profile show'
            printf '%s\n' 'profile'
        case 'wirecage profile import'
            printf '%s\n' 'file'
        case 'wirecage profile new'
            printf '%s\n' 'none'
        case 'wirecage profile edit'
            printf '%s\n' 'profile'
        case 'wirecage profile remove'
            printf '%s\n' 'profile'
        case 'wirecage profile rename'
            printf '%s\n' 'profile' 'none'
        case 'wirecage profile export'
            printf '%s\n' 'profile'
        case 'wirecage profile check'
            printf '%s\n' 'profile'
        case 'wirecage completion'
            printf '%s\n' 'choices:bash,zsh,fish'
    end
end

# Nothing is a file name unless a rule says so.
complete -c wirecage -f
complete -c wirecage -n __wirecage_in_command -a '(__wirecage_complete_command)'

# wirecage
complete -c wirecage -n '__wirecage_using \'wirecage\'' -s h -l help -d 'show this help message and exit'
complete -c wirecage -n '__wirecage_using \'wirecage\'' -l version -d 'show program\'s version number and exit'
complete -c wirecage -n '__wirecage_using \'wirecage\'' -s v -l verbose -d 'show each step (repeatable)'
complete -c wirecage -n '__wirecage_using \'wirecage\'' -s q -l quiet -d 'show only errors'
complete -c wirecage -n '__wirecage_using \'wirecage\'' -l debug -d 'show tracebacks for errors (for bug reports)'
complete -c wirecage -n '__wirecage_subcommand \'wirecage\'' -a 'up' -d 'run a command in a cage whose only network is a profile\'s tunnel'
complete -c wirecage -n '__wirecage_subcommand \'wirecage\'' -a 'profile' -d 'manage profiles'
complete -c wirecage -n '__wirecage_subcommand \'wirecage\'' -a 'genkey' -d 'print a new private key (like wg genkey)'
complete -c wirecage -n '__wirecage_subcommand \'wirecage\'' -a 'pubkey' -d 'read a private key on stdin, print its public key'
complete -c wirecage -n '__wirecage_subcommand \'wirecage\'' -a 'genpsk' -d 'print a new preshared key (like wg genpsk)'
complete -c wirecage -n '__wirecage_subcommand \'wirecage\'' -a 'completion' -d 'print the completion script for a shell'

# wirecage up
complete -c wirecage -n '__wirecage_using \'wirecage up\'' -s h -l help -d 'show this help message and exit'
complete -c wirecage -n '__wirecage_using \'wirecage up\'' -s v -l verbose -d 'show each step (repeatable)'
complete -c wirecage -n '__wirecage_using \'wirecage up\'' -s q -l quiet -d 'show only errors'
complete -c wirecage -n '__wirecage_using \'wirecage up\'' -l debug -d 'show tracebacks for errors (for bug reports)'
complete -c wirecage -n '__wirecage_using \'wirecage up\'' -l wg-public-key -r -f -d 'ad-hoc profile: the peer\'s public key'
complete -c wirecage -n '__wirecage_using \'wirecage up\'' -l wg-private-key-file -r -F -d 'ad-hoc profile: file with our private key'
complete -c wirecage -n '__wirecage_using \'wirecage up\'' -l wg-endpoint -r -f -d 'ad-hoc profile: the peer\'s endpoint'
complete -c wirecage -n '__wirecage_using \'wirecage up\'' -l wg-address -r -f -d 'ad-hoc profile: our tunnel address'
complete -c wirecage -n '__wirecage_using \'wirecage up\'' -l dns -r -f -d 'nameserver inside the cage (overrides profile)'
complete -c wirecage -n '__wirecage_using \'wirecage up\'' -l user -r -f -a '(__fish_complete_users)' -d 'run the command as this user (when root)'
complete -c wirecage -n '__wirecage_using \'wirecage up\'' -l wait -d 'start the command only after the first handshake'
complete -c wirecage -n '__wirecage_using \'wirecage up\'' -l wait-timeout -r -f -d 'how long --wait waits for the handshake (default: 10.0)'
complete -c wirecage -n '__wirecage_argument \'wirecage up\' 1' -f -a '(__wirecage_profiles)' -d 'profile'

# wirecage profile
complete -c wirecage -n '__wirecage_using \'wirecage profile\'' -s h -l help -d 'show this help message and exit'
complete -c wirecage -n '__wirecage_subcommand \'wirecage profile\'' -a 'list' -d 'list the profiles'
complete -c wirecage -n '__wirecage_subcommand \'wirecage profile\'' -a 'show' -d 'show a profile, normalised'
complete -c wirecage -n '__wirecage_subcommand \'wirecage profile\'' -a 'import' -d 'validate a .conf or TOML file and store it'
complete -c wirecage -n '__wirecage_subcommand \'wirecage profile\'' -a 'new' -d 'create a profile with a new private key'
complete -c wirecage -n '__wirecage_subcommand \'wirecage profile\'' -a 'edit' -d 'edit a profile with $VISUAL or $EDITOR'
complete -c wirecage -n '__wirecage_subcommand \'wirecage profile\'' -a 'remove' -d 'remove a profile'
complete -c wirecage -n '__wirecage_subcommand \'wirecage profile\'' -a 'rename' -d 'rename a profile'
complete -c wirecage -n '__wirecage_subcommand \'wirecage profile\'' -a 'export' -d 'print a profile, keys included'
complete -c wirecage -n '__wirecage_subcommand \'wirecage profile\'' -a 'check' -d 'report every problem in a profile'

# wirecage profile list
complete -c wirecage -n '__wirecage_using \'wirecage profile list\'' -s h -l help -d 'show this help message and exit'
complete -c wirecage -n '__wirecage_using \'wirecage profile list\'' -l json -d 'machine-readable output'
complete -c wirecage -n '__wirecage_using \'wirecage profile list\'' -l names -d 'print bare names only'

# wirecage profile show
complete -c wirecage -n '__wirecage_using \'wirecage profile show\'' -s h -l help -d 'show this help message and exit'
complete -c wirecage -n '__wirecage_using \'wirecage profile show\'' -l show-keys -d 'show private and preshared keys'
complete -c wirecage -n '__wirecage_using \'wirecage profile show\'' -l json -d 'machine-readable output'
complete -c wirecage -n '__wirecage_argument \'wirecage profile show\' 1' -f -a '(__wirecage_profiles)' -d 'profile'

# wirecage profile import
complete -c wirecage -n '__wirecage_using \'wirecage profile import\'' -s h -l help -d 'show this help message and exit'
complete -c wirecage -n '__wirecage_using \'wirecage profile import\'' -l name -r -f -d 'store under this name (default: the file\'s stem)'
complete -c wirecage -n '__wirecage_using \'wirecage profile import\'' -l format -r -f -a 'conf toml' -d 'store in this format'
complete -c wirecage -n '__wirecage_using \'wirecage profile import\'' -l force -d 'overwrite an existing profile'
complete -c wirecage -n '__wirecage_argument \'wirecage profile import\' 1' -F -d 'file'

# wirecage profile new
complete -c wirecage -n '__wirecage_using \'wirecage profile new\'' -s h -l help -d 'show this help message and exit'
complete -c wirecage -n '__wirecage_using \'wirecage profile new\'' -l endpoint -r -f -d 'the peer\'s endpoint'
complete -c wirecage -n '__wirecage_using \'wirecage profile new\'' -l peer-public-key -r -f -d 'the peer\'s public key'
complete -c wirecage -n '__wirecage_using \'wirecage profile new\'' -l address -r -f -d 'our tunnel address'
complete -c wirecage -n '__wirecage_using \'wirecage profile new\'' -l dns -r -f -d 'nameserver or search domain'
complete -c wirecage -n '__wirecage_using \'wirecage profile new\'' -l allowed-ips -r -f -d 'networks routed into the tunnel (default: 0.0.0.0/0 and ::/0)'
complete -c wirecage -n '__wirecage_using \'wirecage profile new\'' -l preshared-key-file -r -F -d 'file with a preshared key'
complete -c wirecage -n '__wirecage_using \'wirecage profile new\'' -l format -r -f -a 'conf toml' -d 'file format (default: conf)'

# wirecage profile edit
complete -c wirecage -n '__wirecage_using \'wirecage profile edit\'' -s h -l help -d 'show this help message and exit'
complete -c wirecage -n '__wirecage_argument \'wirecage profile edit\' 1' -f -a '(__wirecage_profiles)' -d 'profile'

# wirecage profile remove
complete -c wirecage -n '__wirecage_using \'wirecage profile remove\'' -s h -l help -d 'show this help message and exit'
complete -c wirecage -n '__wirecage_using \'wirecage profile remove\'' -l yes -s y -d 'do not ask'
complete -c wirecage -n '__wirecage_argument \'wirecage profile remove\' 1' -f -a '(__wirecage_profiles)' -d 'profile'

# wirecage profile rename
complete -c wirecage -n '__wirecage_using \'wirecage profile rename\'' -s h -l help -d 'show this help message and exit'
complete -c wirecage -n '__wirecage_argument \'wirecage profile rename\' 1' -f -a '(__wirecage_profiles)' -d 'profile'

# wirecage profile export
complete -c wirecage -n '__wirecage_using \'wirecage profile export\'' -s h -l help -d 'show this help message and exit'
complete -c wirecage -n '__wirecage_using \'wirecage profile export\'' -l format -r -f -a 'conf toml' -d 'output format (default: the profile\'s own)'
complete -c wirecage -n '__wirecage_argument \'wirecage profile export\' 1' -f -a '(__wirecage_profiles)' -d 'profile'

# wirecage profile check
complete -c wirecage -n '__wirecage_using \'wirecage profile check\'' -s h -l help -d 'show this help message and exit'
complete -c wirecage -n '__wirecage_argument \'wirecage profile check\' 1' -f -a '(__wirecage_profiles)' -d 'profile'

# wirecage genkey
complete -c wirecage -n '__wirecage_using \'wirecage genkey\'' -s h -l help -d 'show this help message and exit'

# wirecage pubkey
complete -c wirecage -n '__wirecage_using \'wirecage pubkey\'' -s h -l help -d 'show this help message and exit'

# wirecage genpsk
complete -c wirecage -n '__wirecage_using \'wirecage genpsk\'' -s h -l help -d 'show this help message and exit'

# wirecage completion
complete -c wirecage -n '__wirecage_using \'wirecage completion\'' -s h -l help -d 'show this help message and exit'
complete -c wirecage -n '__wirecage_argument \'wirecage completion\' 1' -f -a 'bash zsh fish' -d 'shell'
