(*
Module: Test_Op25b_Postfix_Main
  augparse tests for Op25b_Postfix_Main:  augparse -I lenses lenses/tests/test_op25b_postfix_main.aug
*)
module Test_Op25b_Postfix_Main =

(* The stock lens's forms: comments, empty lines, values on one or more lines, no value. *)
test Op25b_Postfix_Main.lns get "# TLS parameters
smtpd_tls_cert_file=/etc/ssl/certs/ssl-cert-snakeoil.pem

mydestination = $myhostname, localhost,
   localhost.localdomain
relayhost =
" =
  { "#comment" = "TLS parameters" }
  { "smtpd_tls_cert_file" = "/etc/ssl/certs/ssl-cert-snakeoil.pem" }
  { }
  { "mydestination" = "$myhostname, localhost,\n   localhost.localdomain" }
  { "relayhost" }

(* A comment line and an empty line inside a continued value: Postfix skips them. *)
test Op25b_Postfix_Main.lns get "smtpd_recipient_restrictions =
    permit_mynetworks,
# the ISP's relay
    permit_sasl_authenticated,

  #   indented comment
    reject_unauth_destination
myhostname = mail.example.org
" =
  { "smtpd_recipient_restrictions" = "permit_mynetworks,\n# the ISP's relay\n    permit_sasl_authenticated,\n\n  #   indented comment\n    reject_unauth_destination" }
  { "myhostname" = "mail.example.org" }

(* A value that starts on a later line, after a comment. *)
test Op25b_Postfix_Main.lns get "mynetworks =\n# loopback only\n    127.0.0.0/8\n" =
  { "mynetworks" = "127.0.0.0/8" }

(* A comment after the last line of a value is the file's, not the value's. *)
test Op25b_Postfix_Main.lns get "a = b,\n  c\n# next\nd = e\n" =
  { "a" = "b,\n  c" }
  { "#comment" = "next" }
  { "d" = "e" }

(* '#' inside a value is text (Postfix only knows whole-line comments). *)
test Op25b_Postfix_Main.lns get "a = b # c\n" = { "a" = "b # c" }

(* Put: replacing a value with skipped lines inside replaces all of it; the rest keeps its bytes. *)
test Op25b_Postfix_Main.lns put "x = 1\na = b,\n# c\n  d\ny = 2\n" after
  set "a" "z" = "x = 1\na = z\ny = 2\n"
test Op25b_Postfix_Main.lns put "# c\n" after
  set "smtpd_tls_security_level" "may" = "# c\nsmtpd_tls_security_level = may\n"

(* Not main.cf. *)
test Op25b_Postfix_Main.lns get "  indented = no\n" = *
test Op25b_Postfix_Main.lns get "no equals\n" = *
