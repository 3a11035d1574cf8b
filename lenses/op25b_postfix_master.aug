(*
Module: Op25b_Postfix_Master
  op25b's lens for Postfix master.cf (see master(5)).

Author: op25b

About: Why not the stock Postfix_Master lens
  The stock lens keeps all "-o" lines of a service in one opaque "command"
  string, reads a commented-out stanza as unrelated comments, fails on
  Postfix 3.10's stock file and re-flows the whitespace of later comments
  when a comment is deleted. This lens instead:
  - reads a commented-out service line ("#smtps  inet  n  -  y  -  -  smtpd",
    no blank after the '#') as an entry with a first child "disabled";
  - reads each continuation line on its own: "-o name=value" becomes a child
    named after the parameter, anything else an "@arg" child; a commented-out
    continuation line ("#  -o name=value", "#  flags=...", "#  user=...",
    "#  argv=...", "#  $...") gets its own "disabled" child;
  - accepts comment lines and empty lines between continuation lines (Postfix
    skips them inside a logical line);
  - stores the text after '#' of a comment verbatim, leading and trailing
    blanks included, so deleting or adding nodes never re-flows the blanks of
    later comments.

  Enabling a service is then "rm the disabled markers"; the column layout of
  the line is kept.

About: Tree
  > /submission
  >   /disabled                  (only when the line starts with '#')
  >   /type          = "inet"
  >   /private       = "n"
  >   /unprivileged  = "-"
  >   /chroot        = "y"
  >   /wakeup        = "-"
  >   /limit         = "-"
  >   /command       = "smtpd"
  >   /syslog_name   = "postfix/submission"     ("-o syslog_name=...")
  >     /disabled                (only when that line starts with '#')
  >   /#comment      = "     Instead of specifying ..."
  >   /@arg          = "flags=DRX user=cyrus argv=..."

About: Editing
  - enable:    rm /files/etc/postfix/master.cf/smtps/disabled
  - disable:   ins disabled before /files/etc/postfix/master.cf/smtps/*[1]
               (an option has no other children: set .../smtps/NAME/disabled)
  - new option: set /files/etc/postfix/master.cf/smtps/NAME VALUE
               prints "  -o NAME=VALUE" at the end of the entry
  - new entry: ins NAME after an entry, then set type, private, unprivileged,
               chroot, wakeup, limit, command in that order (then options);
               prints "NAME TYPE P U C W L COMMAND".
  Setting "disabled" on an entry that has none appends it last, which has no
  text form: the save fails (no "-o disabled=" line is ever written).

About: Loading
  No autoload: a filter here would make this lens and the stock one both
  claim /etc/postfix/master.cf. Register a transform under /augeas/load with
  lens Op25b_Postfix_Master.lns and incl /etc/postfix/master.cf.

About: Limits
  - every line, the last one included, must end with a newline;
  - the type field is read as any lower-case word; the three flags must be
    y, n or -, wakeup and limit numbers or - (else the line does not parse);
  - a '#' line is a disabled service only when it has the whole shape of a
    service line ("#smtp inet is on port 25" stays a comment);
  - a comment that looks like a continuation line ("#  -o a=b", "#  $x") is a
    disabled line of the entry before it; before the first entry it is a
    plain comment;
  - blanks before a '#', around fields and at the end of non-comment lines
    belong to the layout Augeas keeps per label: deleting an entry makes a
    later entry of the same label (smtp inet / smtp unix) take its layout;
  - a service name holding '/' (a socket path) does not parse;
  - service names with '[' or ']' must be escaped in paths
    ("/files/etc/postfix/master.cf/\[::1\]:submission").
*)
module Op25b_Postfix_Master =

(************************************************************************
 * Group: Regexps
 *
 * Complements written out by hand. Augeas turns the result of a regexp
 * subtraction back into a regexp string: for "a comment is any line but a
 * commented-out service line" that string was 700 kB; loading the lens took
 * 11 s and augparse's typecheck was killed after 10 minutes at 20 GB. The
 * complements below ("not_*", "bad_*") are linear in size instead (the
 * largest regexp is 650 bytes). pname_re, darg_re and parg_re are written
 * out too, as one regexp each (see not_head for why). tests/t-lens.sh
 * checks with libfa that cmd_re, pname_re, comment_re, darg_re, parg_re and
 * dcont_re equal the subtractions or compositions they stand for; keep them
 * in step when changing a field.
 ************************************************************************)

(* Variable: any  rest of a line, possibly empty *)
let any = /[^\n]*/
(* Variable: nb  one non-blank character *)
let nb = /[^ \t\n]/
(* Variable: rest  rest of a line, possibly empty, not ending in a blank *)
let rest = /([^\n]*[^ \t\n])?/
let ws = /[ \t]+/

(* Group: service line fields *)

(* Variable: svc_re  service name: name, [host:]port, [ipv6]:port. No '/':
   Augeas 1.12 (Debian 11) refuses a key that can hold the path separator *)
let svc_re = /[]A-Za-z0-9_.:[-]+/
(* Variable: type_re  inet, unix, unix-dgram, fifo, pass; any such word is
   read (Postfix itself rejects unknown types) *)
let type_re = /[a-z-]+/
let flag_re = /[yn-]/
let wakeup_re = /[0-9]+\??|-/
let limit_re = /[0-9]+|-/
(* Variable: cmd_re  command and the arguments on the service line:
   nb . rest, written as one regexp *)
let cmd_re = /[^ \t\n]([^\n]*[^ \t\n])?/

(* Group: text after '#' that is NOT a commented-out service line

   A service line is "svc ws type ws flag ws flag ws flag ws wakeup ws limit
   ws command". For each field, not_FIELD is the empty string or a string
   that starts with a non-blank and is not FIELD followed by a blank;
   bad_FIELD is what may follow the blanks before FIELD on a line that is
   not a service line: either not_FIELD, or FIELD, blanks, and a bad rest.
   The command needs a non-blank: after the limit, only blanks can be bad.

   >  not_svc     = a name, then nothing or a character that is no name's
   >                 nor a blank, then anything
   >  not_type    = the same with type_re's characters
   >  not_flag    = nothing, a character that is no flag nor a blank, or a
   >                flag and then a non-blank
   >  not_wakeup  = nothing, or a number or "-" followed by what cannot
   >                continue it (a non-blank that is no digit or "?"), ...
   >  not_limit   = the same for limit_re
   >  bad_limit   = not_limit | limit_re . ws
   >  bad_wakeup  = not_wakeup | wakeup_re . ws . bad_limit
   >  bad_chroot  = not_flag | flag_re . ws . bad_wakeup
   >  bad_unpriv  = not_flag | flag_re . ws . bad_chroot
   >  bad_private = not_flag | flag_re . ws . bad_unpriv
   >  bad_type    = not_type | type_re . ws . bad_private
   >  not_head    = not_svc | svc_re . ws . bad_type

   not_head below is that, written out as one regexp (the five not_FIELD
   are its pieces in parentheses). Built with "." and "|" it is the same
   language, but Augeas puts every operand of those in a group of its own,
   and glibc compiles and runs a regexp the slower the more groups it has:
   comment_re, mostly not_head, is part of nearly every bigger regexp of the
   lens. Reading and writing a stock master.cf took 167 M instructions, 140 M
   with not_head and not_dstart written out, 135 M with lns below as well,
   122 M with cmd_re, pname_re, darg_re and parg_re written out and cmts
   shared (85 M through lns_entries, the stand-in op25b uses).
   tests/t-lens.sh checks comment_re against its definition with libfa. *)

(* Variable: not_head  text after '#' (non-blank first, or empty) that is
   not a commented-out service line *)
let not_head = /[]A-Za-z0-9_.:[-]*([^] \t\nA-Za-z0-9_.:[-][^\n]*)?|[]A-Za-z0-9_.:[-]+[ \t]+([a-z-]*([^a-z \t\n-][^\n]*)?|[a-z-]+[ \t]+(([^yn \t\n-][^\n]*|[yn-]([^ \t\n][^\n]*)?)?|[yn-][ \t]+(([^yn \t\n-][^\n]*|[yn-]([^ \t\n][^\n]*)?)?|[yn-][ \t]+(([^yn \t\n-][^\n]*|[yn-]([^ \t\n][^\n]*)?)?|[yn-][ \t]+(([^0-9 \t\n-][^\n]*|[0-9]+([^0-9? \t\n][^\n]*|[?]([^ \t\n][^\n]*)?)?|-([^ \t\n][^\n]*)?)?|([0-9]+\??|-)[ \t]+(([^0-9 \t\n-][^\n]*|[0-9]+([^0-9 \t\n][^\n]*)?|-([^ \t\n][^\n]*)?)?|([0-9]+|-)[ \t]+))))))/

(* Group: continuation lines *)

(* Variable: pname_re  parameter name of an "-o name=value" line. "disabled"
   is the marker's label: "-o disabled=..." reads as an "@arg".
   /[A-Za-z0-9_]+/ - /disabled/ written out: a word not starting with "d",
   or a trie of "disabled", each level "(next letter (deeper) | any other
   word character, then any word)?", and "disabled" only followed by at
   least one more word character. Augeas' own subtraction gives a larger
   regexp with twice the groups. *)
let pname_re = /[A-Z0-9_a-ce-z][A-Za-z0-9_]*|d(i(s(a(b(l(e(d[A-Za-z0-9_]+|[A-Z0-9_a-ce-z][A-Za-z0-9_]*)?|[A-Z0-9_a-df-z][A-Za-z0-9_]*)?|[A-Z0-9_a-km-z][A-Za-z0-9_]*)?|[A-Z0-9_ac-z][A-Za-z0-9_]*)?|[A-Z0-9_b-z][A-Za-z0-9_]*)?|[A-Z0-9_a-rt-z][A-Za-z0-9_]*)?|[A-Z0-9_a-hj-z][A-Za-z0-9_]*)?/
let pvalue_re = /[^ \t\n]+/

(* Variable: dstart_re  how a continuation line that can be commented out
   starts; other "#  ..." lines are comments *)
let dstart_re = /-o[ \t]+[^ \t\n]|flags=|user=|argv=|[$]/
(* Variable: darg_re  continuation line that is not an option but can be
   commented out: /flags=|user=|argv=|[$]/ . rest, or "-o", blanks and
   not_opt, written as one regexp. not_opt is a non-blank first, non-blank
   last string that is not "name=value":
   >  [A-Za-z0-9_]+                              a name alone
   >  (disabled)?=[^ \t\n]*                       no name, or "disabled"
   >  ( [A-Za-z0-9_]*[^A-Za-z0-9_= \t\n]        a character no name has
   >  | [A-Za-z0-9_]+[ \t]+[^ \t\n]             a name, blanks, more
   >  | [A-Za-z0-9_]*=[^ \t\n]*[ \t]+[^ \t\n]    name=value, blanks, more
   >  ) . rest *)
let darg_re = /(flags=|user=|argv=|[$])([^\n]*[^ \t\n])?|-o[ \t]+([A-Za-z0-9_]+|(disabled)?=[^ \t\n]*|([A-Za-z0-9_]*[^A-Za-z0-9_= \t\n]|[A-Za-z0-9_]+[ \t]+[^ \t\n]|[A-Za-z0-9_]*=[^ \t\n]*[ \t]+[^ \t\n])([^\n]*[^ \t\n])?)/
(* Variable: parg_re  any other continuation line (not starting with '#'):
   (/[^# \t\n]/ . rest) - (dstart_re . rest), written as one regexp like
   not_dstart, except that the line must end in a non-blank: after a
   character that breaks the words, [^X\n][^\n]*[^ \t\n] or a single
   non-blank [^X \t\n] *)
let parg_re = /[^#$afu \t\n-]([^\n]*[^ \t\n])?|-(o([^ \t\n]([^\n]*[^ \t\n])?)?|[^o\n][^\n]*[^ \t\n]|[^o \t\n])?|f(l(a(g(s([^=\n][^\n]*[^ \t\n]|[^= \t\n])?|[^s\n][^\n]*[^ \t\n]|[^s \t\n])?|[^g\n][^\n]*[^ \t\n]|[^g \t\n])?|[^a\n][^\n]*[^ \t\n]|[^a \t\n])?|[^l\n][^\n]*[^ \t\n]|[^l \t\n])?|u(s(e(r([^=\n][^\n]*[^ \t\n]|[^= \t\n])?|[^r\n][^\n]*[^ \t\n]|[^r \t\n])?|[^e\n][^\n]*[^ \t\n]|[^e \t\n])?|[^s\n][^\n]*[^ \t\n]|[^s \t\n])?|a(r(g(v([^=\n][^\n]*[^ \t\n]|[^= \t\n])?|[^v\n][^\n]*[^ \t\n]|[^v \t\n])?|[^g\n][^\n]*[^ \t\n]|[^g \t\n])?|[^r\n][^\n]*[^ \t\n]|[^r \t\n])?/

(* Variable: dcont_re  text after '#' of a commented-out continuation line *)
let dcont_re = ws . dstart_re . any

(* Variable: not_dstart  non-blank first, not starting like dstart_re:
   a first character that starts none of them; "-" not followed by "o";
   "-o" alone, or followed by a non-blank, or by blanks only; or a proper
   prefix of "flags=", "user=", "argv=" followed by anything but the next
   character of the word. One regexp, for the reason given at not_head: a
   trie of the three words, each level "(next character (deeper)? | any
   other character, then the rest of the line)?". *)
let not_dstart = /[^$afu \t\n-][^\n]*|-(o([^ \t\n][^\n]*|[ \t]+)?|[^o\n][^\n]*)?|f(l(a(g(s([^=\n][^\n]*)?|[^s\n][^\n]*)?|[^g\n][^\n]*)?|[^a\n][^\n]*)?|[^l\n][^\n]*)?|u(s(e(r([^=\n][^\n]*)?|[^r\n][^\n]*)?|[^e\n][^\n]*)?|[^s\n][^\n]*)?|a(r(g(v([^=\n][^\n]*)?|[^v\n][^\n]*)?|[^g\n][^\n]*)?|[^r\n][^\n]*)?/

(* Variable: comment_re  text after '#' of a comment line, verbatim (leading
   and trailing blanks included): neither a commented-out service line nor
   a commented-out continuation line *)
let comment_re = not_head | ws . not_dstart?

(************************************************************************
 * Group: Lenses
 ************************************************************************)

let eol = del /[ \t]*\n/ "\n"
let sep = del ws " "
let indent = del ws "  "
let hash = del /[ \t]*#/ "#"
(* Variable: nl  end of a comment line: its blanks belong to the text *)
let nl = del "\n" "\n"

(* View: empty  an empty or blank line *)
let empty = [ eol ]

(* View: comment *)
let comment = [ label "#comment" . hash . store comment_re . nl ]

(* View: orphan  a commented-out continuation line before the first entry:
   there is no entry it could belong to, so it is a plain comment *)
let orphan = [ label "#comment" . hash . store dcont_re . nl ]

(* View: disabled  the '#' that comments a line out *)
let disabled = [ label "disabled" . hash ]

(* View: field *)
let field (name:string) (re:regexp) = [ label name . store re ]

(* View: option  "-o name=value", optionally commented out *)
let option = [ disabled? . indent . del /-o[ \t]+/ "-o " . key pname_re
             . del "=" "=" . store pvalue_re? . eol ]

(* View: arg  any other continuation line. Only darg_re lines can be
   commented out ("#  flags=...", "#  -o a=b -o c=d"): other "#  ..." lines
   are comments. The two values are disjoint, so put picks the lens by value
   and removing a marker keeps the line's indent *)
let arg = [ label "@arg" . disabled? . indent . store darg_re . eol ]
        | [ label "@arg" . indent . store parg_re . eol ]

(* View: cmts  comment and empty lines; one lens shared by entry and lns,
   so that Augeas compiles its regexps once *)
let cmts = (comment | empty)*

(* View: entry  a service line with its continuation lines *)
let entry = [ disabled? . key svc_re
            . sep . field "type" type_re
            . sep . field "private" flag_re
            . sep . field "unprivileged" flag_re
            . sep . field "chroot" flag_re
            . sep . field "wakeup" wakeup_re
            . sep . field "limit" limit_re
            . sep . field "command" cmd_re . eol
            . ( cmts . (option | arg) )* ]

(* View: lns  the comments before the first entry, then each entry with the
   comments that follow it. The same as an optional entry followed by any
   number of entries, comments and empty lines, written so that the lens's
   regexp holds one copy of entry's regexp instead of two *)
let lns = (comment | empty | orphan)* . (entry . cmts)*

(* View: lns_entries  lns for a file without an orphan (a commented-out
   continuation line before the first entry), into the same tree. A plain
   star: Augeas matches a concatenation such as lns against the whole text
   with its complete regexp (about 275 groups), in get and again in put, and
   a star only line by line. Reading and writing a stock master.cf takes
   85 M instructions instead of 122 M. op25b tries it first and reads a file
   it cannot read with lns (src/conf/aug.c); both typecheck. *)
let lns_entries = (comment | empty | entry)*

(* Variable: filter  not autoloaded, see "Loading" *)
let filter = incl "/etc/postfix/master.cf"
