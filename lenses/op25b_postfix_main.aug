(*
Module: Op25b_Postfix_Main
  op25b's lens for Postfix main.cf (see postconf(5)): the stock Postfix_Main
  lens's tree and bytes, plus the forms Postfix accepts and the stock lens
  does not.

Author: op25b

About: Why not the stock Postfix_Main lens
  Postfix reads main.cf one logical line at a time: a line that starts with a
  blank continues the one before, and empty lines and comment lines (first
  non-blank character '#') are skipped, also between the lines of one
  value. The stock lens ends a value at the first comment or empty line, so
  a file with
  >   smtpd_recipient_restrictions =
  >       permit_mynetworks,
  >   # the ISP's relay
  >       reject_unauth_destination
  does not parse at all. Here the comment and empty lines between the lines
  of a value are part of that value: the value node holds the text from its
  first to its last non-blank character, skipped lines included, exactly as
  in the file. op25b only ever replaces such a value whole.

About: Same tree
  For every file the stock lens reads, this lens gives the same tree and
  writes the same bytes (same key, separator, indent and comment pieces).

About: Tree
  > /#comment         = "TLS parameters"
  > /smtpd_tls_cert_file = "/etc/ssl/certs/ssl-cert-snakeoil.pem"
  > /relayhost                       (a key without a value)

About: Limits
  Every line ends with a newline, and line ends are LF: op25b adds the one
  newline a file may lack and turns CRLF into LF before parsing, and undoes
  both when writing (src/conf/aug.c).

About: Loading
  No autoload; op25b applies it to text (aug_text_store).
*)
module Op25b_Postfix_Main =

(* View: eq *)
let eq = del /[ \t]*=/ " ="

(* Variable: word  a parameter name *)
let word = /[A-Za-z0-9_.-]+/

(* Variable: skipped  empty and comment lines, which Postfix skips inside a logical line *)
let skipped = /([ \t]*(#[^\n]*)?\n)*/

(* View: indent  the blanks after "=", or a value that starts on a later line *)
let indent = del (/[ \t]*/ . (/\n/ . skipped . /[ \t]+/)?) " "

(* View: value  one or more lines, each starting and ending with a non-blank; a line may
   not start with '#' (it would be a comment) *)
let value =
  let chr = /[^# \t\n]/ in
  let line = chr . (/[^\n]*/ . /[^ \t\n]/)? in
  store (line . (/[ \t]*\n/ . skipped . /[ \t]+/ . line)*)

(* View: entry *)
let entry = [ key word . eq . (indent . value)? . Util.eol ]

(* View: lns *)
let lns = (Util.comment | Util.empty | entry)*
