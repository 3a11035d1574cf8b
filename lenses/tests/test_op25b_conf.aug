(*
Module: Test_Op25b_Conf
  augparse tests for Op25b_Conf:  augparse -I lenses lenses/tests/test_op25b_conf.aug
*)
module Test_Op25b_Conf =

(* The example file that the package installs: comments and empty lines only. *)
let example = "# /etc/op25b/op25b.conf
#
#mode = smtps

#cert = /etc/letsencrypt/live/mail.example.org/fullchain.pem
"
test Op25b_Conf.lns get example =
  { "#comment" = "/etc/op25b/op25b.conf" }
  { }
  { "#comment" = "mode = smtps" }
  { }
  { "#comment" = "cert = /etc/letsencrypt/live/mail.example.org/fullchain.pem" }

(* Settings, blanks around "=" optional, indentation, "-" in keys. *)
test Op25b_Conf.lns get "mode = smtps\ncert=/etc/ssl/a.pem\n  key =\t/etc/ssl/k.pem\nno-restart = yes\n" =
  { "mode" = "smtps" }
  { "cert" = "/etc/ssl/a.pem" }
  { "key" = "/etc/ssl/k.pem" }
  { "no-restart" = "yes" }

(* A comment after a value; blanks at the end are not part of the value. *)
test Op25b_Conf.lns get "relayhost = [smtp.isp.example]:587   # the ISP\nzone = public  \n" =
  { "relayhost" = "[smtp.isp.example]:587" { "#comment" = "the ISP" } }
  { "zone" = "public" }

(* "#" always starts a comment, even without a blank before it. *)
test Op25b_Conf.lns get "cert = /a#b\n" =
  { "cert" = "/a" { "#comment" = "b" } }

(* Inner blanks are kept: the program decides whether the value is valid. *)
test Op25b_Conf.lns get "mechanisms = PLAIN LOGIN\n" =
  { "mechanisms" = "PLAIN LOGIN" }

(* A key without a value. *)
test Op25b_Conf.lns get "relayhost =\nzone = # none\n" =
  { "relayhost" }
  { "zone" { "#comment" = "none" } }

(* Not a setting. *)
test Op25b_Conf.lns get "just words\n" = *
test Op25b_Conf.lns get "= value\n" = *
test Op25b_Conf.lns get "9key = value\n" = *
test Op25b_Conf.lns get "key value\n" = *

(* Put: a changed value keeps the layout; a new entry gets "key = value". *)
test Op25b_Conf.lns put "mode=smtps   # m\n" after
  set "mode" "submission" =
  "mode=submission   # m\n"
test Op25b_Conf.lns put "# c\n" after
  set "zone" "public" =
  "# c\nzone = public\n"
