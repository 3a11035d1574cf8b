(*
Module: Op25b_Conf
  op25b's configuration file, /etc/op25b/op25b.conf (see op25b.conf(5)).

Author: op25b

About: Syntax
  One setting a line, "key = value"; the blanks around "=" are optional.
  "#" starts a comment, on a line of its own or after a value; empty lines
  are ignored. A value runs to the end of the line (inner blanks kept, the
  blanks at either end dropped) and cannot contain "#". A key with no value
  ("relayhost =") is read as a node without a value: op25b reports it.
  Which keys exist, and what their values mean, is op25b's business, not
  the lens's: the lens accepts any key made of letters, digits, "_" and "-".

About: Tree
  > /#comment   = "op25b configuration"
  > /mode       = "smtps"
  > /cert       = "/etc/letsencrypt/live/mail.example.org/fullchain.pem"
  >   /#comment = "the chain"        (a comment after the value)
  > /relayhost                       (no value)

About: Regular expressions
  Kept small on purpose: lens regexes are compiled at run time.
*)
module Op25b_Conf =
  autoload xfm

(* Variable: key_re *)
let key_re = /[A-Za-z][A-Za-z0-9_-]*/

(* Variable: value_re
   Starts and ends with a non-blank; no "#" and no newline. *)
let value_re = /[^ \t\n#]([^\n#]*[^ \t\n#])?/

(* View: value
   The "=" with its blanks, then an optional value. *)
let value = del /[ \t]*=/ " =" . ( del /[ \t]*/ " " . store value_re )?

(* View: entry *)
let entry = [ Util.indent . key key_re . value . Util.comment_or_eol ]

(* View: lns *)
let lns = ( Util.empty | Util.comment | entry )*

(* Variable: filter *)
let filter = incl "/etc/op25b/op25b.conf"

let xfm = transform lns filter
