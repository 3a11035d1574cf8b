(*
Module: Test_Op25b_Postfix_Master
  Tests for Op25b_Postfix_Master. Run from the top of the tree:
  > augparse -I lenses lenses/tests/test_op25b_postfix_master.aug
  The inputs are small hand-written snippets in the shapes the stock files
  use; tests/t-lens.sh round-trips the stock files themselves.
*)
module Test_Op25b_Postfix_Master =

let lns = Op25b_Postfix_Master.lns

(* Group: get *)

(* An active service line: one node per field *)
test lns get "pickup    unix  n       -       y       60      1       pickup\n" =
  { "pickup" { "type" = "unix" } { "private" = "n" } { "unprivileged" = "-" }
    { "chroot" = "y" } { "wakeup" = "60" } { "limit" = "1" }
    { "command" = "pickup" } }

(* wakeup with '?', unix-dgram, a command with arguments, a tab *)
test lns get "tlsmgr unix - - y 1000? 1 tlsmgr\npostlog   unix-dgram n  -\tn - 1 postlogd -v\n" =
  { "tlsmgr" { "type" = "unix" } { "private" = "-" } { "unprivileged" = "-" }
    { "chroot" = "y" } { "wakeup" = "1000?" } { "limit" = "1" }
    { "command" = "tlsmgr" } }
  { "postlog" { "type" = "unix-dgram" } { "private" = "n" } { "unprivileged" = "-" }
    { "chroot" = "n" } { "wakeup" = "-" } { "limit" = "1" }
    { "command" = "postlogd -v" } }

(* A commented-out stanza: the entry and each "-o" line carry a "disabled"
   marker; the explanation lines in the middle stay comments, verbatim *)
let stanza = "# Pick one:
#127.0.0.1:submission inet n -   y       -       -       smtpd
#submission inet n       -       y       -       -       smtpd
#  -o syslog_name=postfix/submission
#  -o smtpd_tls_security_level=encrypt
#     Instead of specifying complex smtpd_<xxx>_restrictions here,
#     specify them in main.cf.
#  -o smtpd_client_restrictions=
#  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject
#smtps     inet  n       -       y       -       -       smtpd
#  -o syslog_name=postfix/smtps
#  -o smtpd_tls_wrappermode=yes
#628       inet  n       -       y       -       -       qmqpd
"

let stanza_tree =
  { "#comment" = " Pick one:" }
  { "127.0.0.1:submission" { "disabled" }
    { "type" = "inet" } { "private" = "n" } { "unprivileged" = "-" }
    { "chroot" = "y" } { "wakeup" = "-" } { "limit" = "-" }
    { "command" = "smtpd" } }
  { "submission" { "disabled" }
    { "type" = "inet" } { "private" = "n" } { "unprivileged" = "-" }
    { "chroot" = "y" } { "wakeup" = "-" } { "limit" = "-" }
    { "command" = "smtpd" }
    { "syslog_name" = "postfix/submission" { "disabled" } }
    { "smtpd_tls_security_level" = "encrypt" { "disabled" } }
    { "#comment" = "     Instead of specifying complex smtpd_<xxx>_restrictions here," }
    { "#comment" = "     specify them in main.cf." }
    { "smtpd_client_restrictions" = "" { "disabled" } }
    { "smtpd_recipient_restrictions" = "permit_sasl_authenticated,reject" { "disabled" } } }
  { "smtps" { "disabled" }
    { "type" = "inet" } { "private" = "n" } { "unprivileged" = "-" }
    { "chroot" = "y" } { "wakeup" = "-" } { "limit" = "-" }
    { "command" = "smtpd" }
    { "syslog_name" = "postfix/smtps" { "disabled" } }
    { "smtpd_tls_wrappermode" = "yes" { "disabled" } } }
  { "628" { "disabled" }
    { "type" = "inet" } { "private" = "n" } { "unprivileged" = "-" }
    { "chroot" = "y" } { "wakeup" = "-" } { "limit" = "-" }
    { "command" = "qmqpd" } }

test lns get stanza = stanza_tree

(* Postfix 3.10's relay stanza: a value with braces, '?', ':' and '$'; a
   commented-out line with two options is one disabled "@arg" *)
let relay = "relay     unix  -       -       n       -       -       smtp
        -o syslog_name=${multi_instance_name?{$multi_instance_name}:{postfix}}/$service_name
#       -o smtp_helo_timeout=5 -o smtp_connect_timeout=5
"

test lns get relay =
  { "relay" { "type" = "unix" } { "private" = "-" } { "unprivileged" = "-" }
    { "chroot" = "n" } { "wakeup" = "-" } { "limit" = "-" }
    { "command" = "smtp" }
    { "syslog_name" = "${multi_instance_name?{$multi_instance_name}:{postfix}}/$service_name" }
    { "@arg" = "-o smtp_helo_timeout=5 -o smtp_connect_timeout=5" { "disabled" } } }

(* pipe(8) services: flags=/user=/argv= lines and "$" lines are "@arg",
   disabled when commented out; a "#" line of another shape is a comment *)
let pipes = "#cyrus     unix  -       n       n       -       -       pipe
#  user=cyrus argv=/cyrus/bin/deliver -e -r ${sender} ${user}
#scalemail-backend unix -       n       n       -       2       pipe
#  flags=R user=scalemail argv=/usr/lib/scalemail/bin/scalemail-store
#  ${nexthop} ${user} ${extension}
#   lmtp    cmd=\"lmtpd -a\" listen=\"localhost:lmtp\"
#  mailbox_transport = lmtp:inet:localhost
maildrop  unix  -       n       n       -       -       pipe
  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}
  -o a=b -o c=d
  -o { smtpd_tls_security_level = encrypt }
  -o disabled=yes
"

test lns get pipes =
  { "cyrus" { "disabled" }
    { "type" = "unix" } { "private" = "-" } { "unprivileged" = "n" }
    { "chroot" = "n" } { "wakeup" = "-" } { "limit" = "-" }
    { "command" = "pipe" }
    { "@arg" = "user=cyrus argv=/cyrus/bin/deliver -e -r ${sender} ${user}" { "disabled" } } }
  { "scalemail-backend" { "disabled" }
    { "type" = "unix" } { "private" = "-" } { "unprivileged" = "n" }
    { "chroot" = "n" } { "wakeup" = "-" } { "limit" = "2" }
    { "command" = "pipe" }
    { "@arg" = "flags=R user=scalemail argv=/usr/lib/scalemail/bin/scalemail-store" { "disabled" } }
    { "@arg" = "${nexthop} ${user} ${extension}" { "disabled" } } }
  { "#comment" = "   lmtp    cmd=\"lmtpd -a\" listen=\"localhost:lmtp\"" }
  { "#comment" = "  mailbox_transport = lmtp:inet:localhost" }
  { "maildrop" { "type" = "unix" } { "private" = "-" } { "unprivileged" = "n" }
    { "chroot" = "n" } { "wakeup" = "-" } { "limit" = "-" }
    { "command" = "pipe" }
    { "@arg" = "flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}" }
    { "@arg" = "-o a=b -o c=d" }
    { "@arg" = "-o { smtpd_tls_security_level = encrypt }" }
    { "@arg" = "-o disabled=yes" } }

(* A stanza uncommented by hand, its explanation lines and an empty line
   left between the "-o" lines (Postfix skips them); an indented comment;
   a half re-commented option *)
let by_hand = "submission inet n       -       y       -       -       smtpd
  -o syslog_name=postfix/submission
#     Instead of specifying complex smtpd_<xxx>_restrictions here,

  -o smtpd_client_restrictions=
  # -o smtpd_helo_restrictions=
  # note
#  -o smtpd_tls_auth_only=yes
\t-o\tmilter_macro_daemon_name=ORIGINATING  
# trailing comment, not part of the entry
"

test lns get by_hand =
  { "submission" { "type" = "inet" } { "private" = "n" } { "unprivileged" = "-" }
    { "chroot" = "y" } { "wakeup" = "-" } { "limit" = "-" }
    { "command" = "smtpd" }
    { "syslog_name" = "postfix/submission" }
    { "#comment" = "     Instead of specifying complex smtpd_<xxx>_restrictions here," }
    { }
    { "smtpd_client_restrictions" = "" }
    { "smtpd_helo_restrictions" = "" { "disabled" } }
    { "#comment" = " note" }
    { "smtpd_tls_auth_only" = "yes" { "disabled" } }
    { "milter_macro_daemon_name" = "ORIGINATING" } }
  { "#comment" = " trailing comment, not part of the entry" }

(* Comments: '#' alone, trailing blanks kept in the text, things that only
   look like service or option lines; before the first entry a commented
   "-o" line is a plain comment (no entry to belong to) *)
test lns get "#\n#  \n#  -o smtpd_tls_auth_only=yes\n#smtp inet is port 25\n#-o a=b\n# smtp inet n - y - - smtpd\n#smtp inet n - y -\n\n#  flags=x\n" =
  { "#comment" = "" }
  { "#comment" = "  " }
  { "#comment" = "  -o smtpd_tls_auth_only=yes" }
  { "#comment" = "smtp inet is port 25" }
  { "#comment" = "-o a=b" }
  { "#comment" = " smtp inet n - y - - smtpd" }
  { "#comment" = "smtp inet n - y -" }
  { }
  { "#comment" = "  flags=x" }

(* IPv6 and host:port service names *)
test lns get "[::1]:submission inet n - y - - smtpd\n127.0.0.1:smtp inet n - y - - smtpd\n" =
  { "[::1]:submission" { "type" = "inet" } { "private" = "n" } { "unprivileged" = "-" }
    { "chroot" = "y" } { "wakeup" = "-" } { "limit" = "-" } { "command" = "smtpd" } }
  { "127.0.0.1:smtp" { "type" = "inet" } { "private" = "n" } { "unprivileged" = "-" }
    { "chroot" = "y" } { "wakeup" = "-" } { "limit" = "-" } { "command" = "smtpd" } }

(* Not master.cf: a continuation line before any service, a bad flag, no
   final newline *)
test lns get "  -o a=b\n" = *
test lns get "smtp inet yes - y - - smtpd\n" = *
test lns get "smtp inet n - y - - smtpd" = *

(* Group: put *)

(* Enabling: remove the markers; columns, inner comments and the
   other entries are untouched *)
test lns put stanza after
  rm "/submission/disabled";
  rm "/submission/*/disabled"
= "# Pick one:
#127.0.0.1:submission inet n -   y       -       -       smtpd
submission inet n       -       y       -       -       smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
#     Instead of specifying complex smtpd_<xxx>_restrictions here,
#     specify them in main.cf.
  -o smtpd_client_restrictions=
  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject
#smtps     inet  n       -       y       -       -       smtpd
#  -o syslog_name=postfix/smtps
#  -o smtpd_tls_wrappermode=yes
#628       inet  n       -       y       -       -       qmqpd
"

(* Enabling the loopback-only variant instead, with only some options;
   changing a value; adding options (printed "  -o name=value") *)
test lns put stanza after
  rm "/127.0.0.1:submission/disabled";
  rm "/submission/syslog_name/disabled";
  set "/submission/smtpd_tls_security_level" "may";
  rm "/submission/smtpd_tls_security_level/disabled";
  set "/submission/smtpd_tls_auth_only" "yes";
  set "/submission/smtpd_sasl_auth_enable" "yes"
= "# Pick one:
127.0.0.1:submission inet n -   y       -       -       smtpd
#submission inet n       -       y       -       -       smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=may
#     Instead of specifying complex smtpd_<xxx>_restrictions here,
#     specify them in main.cf.
#  -o smtpd_client_restrictions=
#  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
#smtps     inet  n       -       y       -       -       smtpd
#  -o syslog_name=postfix/smtps
#  -o smtpd_tls_wrappermode=yes
#628       inet  n       -       y       -       -       qmqpd
"

(* Enabling smtps (Postfix < 3.7 name) and adding an option to it *)
test lns put stanza after
  rm "/smtps/disabled";
  rm "/smtps/*/disabled";
  set "/smtps/smtpd_sasl_auth_enable" "yes"
= "# Pick one:
#127.0.0.1:submission inet n -   y       -       -       smtpd
#submission inet n       -       y       -       -       smtpd
#  -o syslog_name=postfix/submission
#  -o smtpd_tls_security_level=encrypt
#     Instead of specifying complex smtpd_<xxx>_restrictions here,
#     specify them in main.cf.
#  -o smtpd_client_restrictions=
#  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject
smtps     inet  n       -       y       -       -       smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
#628       inet  n       -       y       -       -       qmqpd
"

(* Re-disabling: a new "disabled" before the first child puts the '#'
   back; an option's marker can simply be set (it has no other child) *)
test lns put by_hand after
  insb "disabled" "/submission/*[1]";
  set "/submission/syslog_name/disabled" "";
  clear "/submission/smtpd_client_restrictions/disabled";
  set "/submission/milter_macro_daemon_name/disabled" ""
= "#submission inet n       -       y       -       -       smtpd
#  -o syslog_name=postfix/submission
#     Instead of specifying complex smtpd_<xxx>_restrictions here,

#  -o smtpd_client_restrictions=
  # -o smtpd_helo_restrictions=
  # note
#  -o smtpd_tls_auth_only=yes
#\t-o\tmilter_macro_daemon_name=ORIGINATING  
# trailing comment, not part of the entry
"

(* A brand-new entry after an existing one *)
test lns put "smtp      inet  n       -       y       -       -       smtpd\n# end\n" after
  insa "submissions" "/smtp";
  set "/submissions/type" "inet";
  set "/submissions/private" "n";
  set "/submissions/unprivileged" "-";
  set "/submissions/chroot" "y";
  set "/submissions/wakeup" "-";
  set "/submissions/limit" "-";
  set "/submissions/command" "smtpd";
  set "/submissions/syslog_name" "postfix/submissions";
  set "/submissions/smtpd_tls_wrappermode" "yes"
= "smtp      inet  n       -       y       -       -       smtpd
submissions inet n - y - - smtpd
  -o syslog_name=postfix/submissions
  -o smtpd_tls_wrappermode=yes
# end
"

(* ... created disabled, with a disabled option and a comment *)
test lns put "smtp inet n - y - - smtpd\n" after
  insa "127.0.0.1:smtps" "/smtp";
  set "/127.0.0.1:smtps/disabled" "";
  set "/127.0.0.1:smtps/type" "inet";
  set "/127.0.0.1:smtps/private" "n";
  set "/127.0.0.1:smtps/unprivileged" "-";
  set "/127.0.0.1:smtps/chroot" "n";
  set "/127.0.0.1:smtps/wakeup" "-";
  set "/127.0.0.1:smtps/limit" "-";
  set "/127.0.0.1:smtps/command" "smtpd";
  set "/127.0.0.1:smtps/#comment" " why";
  set "/127.0.0.1:smtps/syslog_name" "postfix/smtps";
  set "/127.0.0.1:smtps/syslog_name/disabled" ""
= "smtp inet n - y - - smtpd
#127.0.0.1:smtps inet n - n - - smtpd
# why
#  -o syslog_name=postfix/smtps
"

(* The 3.10 syslog_name line survives edits of its neighbours; removing a
   marker only removes the '#' (7 blanks of indent are left) *)
test lns put relay after
  rm "/relay/@arg/disabled";
  set "/relay/smtp_helo_timeout" "10"
= "relay     unix  -       -       n       -       -       smtp
        -o syslog_name=${multi_instance_name?{$multi_instance_name}:{postfix}}/$service_name
       -o smtp_helo_timeout=5 -o smtp_connect_timeout=5
  -o smtp_helo_timeout=10
"

(* Deleting a comment does not re-flow the blanks of later comments *)
test lns put "#a\n#   b\n#\tc\n#  -o x=y\nsmtp inet n - y - - smtpd\n" after
  rm "/#comment[1]"
= "#   b\n#\tc\n#  -o x=y\nsmtp inet n - y - - smtpd\n"

(* New comments: any text; a commented "-o" line only before the first
   entry (after it, it would read back as a disabled option) *)
test lns put "smtp inet n - y - - smtpd\n" after
  insb "#comment" "/smtp";
  set "/#comment" "  -o a=b";
  set "/#comment[2]" " ok"
= "#  -o a=b\nsmtp inet n - y - - smtpd\n# ok\n"

test lns put "smtp inet n - y - - smtpd\n" after
  set "/#comment" "  -o a=b"
= *

(* "disabled" appended to an entry has no text form: the put fails
   instead of writing "-o disabled=" *)
test lns put "smtp inet n - y - - smtpd\n" after
  set "/smtp/disabled" ""
= *

(* A disabled "@arg" must keep a shape that reads back as one *)
test lns put "maildrop unix - n n - - pipe\n  /usr/bin/maildrop\n" after
  set "/maildrop/@arg/disabled" ""
= *

(* Group: lns_entries, the stand-in op25b tries first *)

let entries = Op25b_Postfix_Master.lns_entries

(* The same tree as lns where there is no orphan line, written back the same way *)
test entries get stanza = stanza_tree
test entries put stanza after
  rm "/127.0.0.1:submission/disabled" = "# Pick one:
127.0.0.1:submission inet n -   y       -       -       smtpd
#submission inet n       -       y       -       -       smtpd
#  -o syslog_name=postfix/submission
#  -o smtpd_tls_security_level=encrypt
#     Instead of specifying complex smtpd_<xxx>_restrictions here,
#     specify them in main.cf.
#  -o smtpd_client_restrictions=
#  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject
#smtps     inet  n       -       y       -       -       smtpd
#  -o syslog_name=postfix/smtps
#  -o smtpd_tls_wrappermode=yes
#628       inet  n       -       y       -       -       qmqpd
"

(* A commented-out "-o" line before the first entry is lns's alone: op25b
   then reads the file with lns *)
test entries get "#  -o smtpd_tls_auth_only=yes
smtp inet n - y - - smtpd
" = *
