# bash completion for op25b(8): verbs, modes and options.          -*- shell-script -*-
# Installed as $(DATADIR)/bash-completion/completions/op25b; works with or without the
# bash-completion package (it only uses bash's own compgen).

_op25b_opts()
{
    local common='--root= --postfix-dir= --dovecot-dir= --state-dir= --config= --dry-run
        --no-restart --no-firewall --timeout= --json --quiet --verbose --help --version'
    case $1 in
        apply) echo "--mode= --domain= --cert= --key= --relayhost= --relay-user=
            --relay-password-file= --relay-password-stdin --relay-tls= --mechanisms= --password-map=
            --zone= --origin= $common" ;;
        revert) echo "--mode= --zone= --origin= $common" ;;
        status | log) echo "$common" ;;
        reload-certs) echo "--check $common" ;;
        probe) echo '--json --timeout= --quiet --verbose --help --version' ;;
        verify) echo "--host= --send-test= --user= --password-file= --password-stdin $common" ;;
        *) echo '--help --version' ;;
    esac
}

# COMPREPLY from compgen's lines (file names may hold blanks).
_op25b_reply()
{
    mapfile -t COMPREPLY < <(compgen "$@")
}

_op25b()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev='' opt='' verb='' i
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()

    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            apply | revert | status | probe | verify | log | reload-certs) verb=${COMP_WORDS[i]}; break ;;
        esac
    done

    # "--mode=sm": '=' is in COMP_WORDBREAKS, so bash sees "--mode" "=" "sm" (or "--mode" "=").
    if [[ $cur == = ]]; then
        opt=$prev cur=''
    elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
        opt=${COMP_WORDS[COMP_CWORD - 2]}
    elif [[ $cur == --*=* ]]; then
        opt=${cur%%=*} cur=${cur#*=}
    elif [[ $prev == --* ]]; then
        # "--mode smtps" (getopt accepts the value as the next word)
        case $prev in
            --mode | --domain | --cert | --key | --relayhost | --relay-user | --relay-password-file | \
                --mechanisms | --relay-tls | --password-map | --zone | --origin | --timeout | --root | --postfix-dir | \
                --dovecot-dir | --state-dir | --config | --host | --send-test | --user | --password-file) opt=$prev ;;
        esac
    fi

    if [[ -n $opt ]]; then
        case $opt in
            --mode) _op25b_reply -W 'smtps submission' -- "$cur" ;;
            --mechanisms) _op25b_reply -W 'auto PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256' -- "$cur" ;;
            --relay-tls) _op25b_reply -W 'secure fingerprint encrypt' -- "$cur" ;;
            --root | --postfix-dir | --dovecot-dir | --state-dir) _op25b_reply -d -- "$cur" ;;
            --config | --cert | --key | --relay-password-file | --password-map) _op25b_reply -f -- "$cur" ;;
            --host) _op25b_reply -A hostname -- "$cur" ;;
        esac
        return 0
    fi

    if [[ -z $verb && $cur != -* ]]; then
        _op25b_reply -W 'apply revert status probe verify log reload-certs' -- "$cur"
    elif [[ $cur == -* ]]; then
        _op25b_reply -W "$(_op25b_opts "$verb")" -- "$cur"
        [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]] && compopt -o nospace 2>/dev/null
    elif [[ $verb == probe ]]; then
        _op25b_reply -A hostname -- "$cur"
    fi
    return 0
} &&
    complete -F _op25b op25b

# ex: filetype=sh
