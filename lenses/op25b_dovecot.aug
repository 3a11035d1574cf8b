(*
Module: Op25b_Dovecot
  op25b's lens for every Dovecot configuration file, 2.0 to 2.4
  (dovecot.conf, conf.d/*.conf, *.conf.ext): settings, commands, and blocks
  of any name, nested to any depth.

Author: op25b

About: Why not the stock Dovecot lens
  The stock lens knows 13 block names and block arguments of letters,
  digits, '/', '_' and '-' only, so that it refuses much of what doveconf
  reads: "local_name mail.example.org {", "remote 192.0.2.0/24 {",
  "unix_listener /run/a.b/auth {", 2.4's "ssl_server {", "mail_plugins {",
  "passdb name {", "@group name {". It tells settings from blocks by their
  name (a 3.8 kB regexp subtraction). Dovecot itself tells them apart by the
  line's shape, and so does this lens: "NAME [ARG] {" opens a block,
  "NAME = VALUE" is a setting, "}" ends a block. No regexp here is a
  subtraction, so the lens stays cheap to compile (make bench).

About: Tree
  > /#comment       = "SSL settings"
  > /ssl            = "yes"
  > /ssl_cert       = "</etc/dovecot/private/dovecot.pem"
  > /auth_username_format = "="          ("auth_username_format =", no value)
  > /!include_try   = "conf.d/*.conf"    ("!include_try conf.d/*.conf")
  > /service                             ("service auth {")
  >   /#name        = "auth"
  >   /unix_listener
  >     /#name      = "/var/spool/postfix/private/auth"
  >     /mode       = "0660"
  > /ssl_server                          ("ssl_server {", 2.4)
  >   /cert_file    = "/etc/ssl/mail.pem"
  The stock lens's tree, but for three things Augeas needs to tell a setting
  from a block by the node alone (its label and value; children do not
  count), as the names of both can be anything:
  - a block's argument is its "#name" child, without the quotes around it
    ("mailbox \"Sent Messages\" {" gives #name = "Sent Messages"): paths
    read "service[#name = 'auth']";
  - a setting without a value ("NAME =") has the value "=": a node without
    a value is a block ("NAME {");
  - the two commands are labelled with their '!' ("!include",
    "!include_try"), never taken for a setting of the same name.

About: Syntax (as Dovecot's config parser reads it)
  - '#' first on a line (after blanks) starts a comment line;
  - "NAME = VALUE": the value runs to the end of the line, blanks at either
    end dropped (a "# comment" after it is part of the value, as in the
    stock lens); a line ending in '\' continues on the next one;
  - "NAME =": a setting without a value (the value "=" alone is read as
    no value);
  - "NAME {", "NAME ARG {", "NAME \"ARG\" {" open a block; ARG may be any
    word without blanks, quotes, '=', '#', '{' or '}' ("!indexer-worker",
    "192.0.2.0/24", "*.example.org"), or a quoted text; a comment may follow
    the '{';
  - "}" alone on its line ends the innermost block;
  - "!include PATH" and "!include_try PATH", anywhere.

About: Writing
  A new setting is written "NAME = VALUE", indented two blanks inside a
  block (whatever its depth). A new block is written "NAME ARG {" ... "}",
  not indented.

About: Cost
  Reading and writing Debian 12's 10-master.conf (Dovecot 2.3.19) costs a
  fifth of the stock lens's instructions, 10-ssl.conf a quarter; the
  block-less stand-in this lens replaced cost the same as this lens
  (tests/tools/aug-roundtrip.c under callgrind).

About: Limits
  Every line ends with a newline, and line ends are LF: op25b adds the one
  newline a file may lack and turns CRLF into LF before parsing, and undoes
  both when writing (src/conf/aug.c).

About: Loading
  No autoload; op25b applies it to text (aug_text_store).
*)
module Op25b_Dovecot =

(* View: eq *)
let eq = del /[ \t]*=/ " ="

(* View: value_sep  one blank after "=" in new lines *)
let value_sep = del /[ \t]*/ " "

(* Variable: name  a setting's or a block's name: not a comment, a command or a brace. No '/':
   Dovecot's names have none, and Augeas 1.12 (Debian 11) refuses a key that can hold the path
   separator *)
let name = /[^#\/ \t\n=!{}"][^\/ \t\n={}"#]*/

(* Variable: value  to the end of the line, blanks at either end dropped; a '\' at the end of a
   line continues the value on the next one (so a value never ends with '\'); never "=" alone
   (the value of "NAME =") *)
let value = /[^ \t\n]([^\n]|\\\\\n)*[^ \t\n\\]|[^ \t\n\\=]/

(* View: entry_at  "NAME = VALUE"; "NAME =" has the value "=" (a node without a value is a block).
   IND: the indent of a new line *)
let entry_at (ind:string) =
    [ del /[ \t]*/ ind . key name . eq . value_sep . store value . Util.eol ]
  | [ del /[ \t]*/ ind . key name . del /[ \t]*/ " " . store /=/ . Util.eol ]

(* View: command_at  "!include PATH", "!include_try PATH" *)
let command_at (ind:string) =
  [ del /[ \t]*/ ind . key /!include(_try)?/ . Sep.space . store /[^ \t\n]([^\n]*[^ \t\n])?/ . Util.eol ]

(* View: comment_at *)
let comment_at (ind:string) = Util.comment_generic /[ \t]*#[ \t]*/ (ind . "# ")

(* View: arg  a block's argument, its "#name" node: a word, quoted or not, or a quoted text with a
   blank or another character a word cannot have (written with quotes). Two nodes: the value
   decides which one writes it. *)
let arg =
    [ Sep.space . label "#name" . del /"?/ "" . store /[^ \t\n="#{}]+/ . del /"?/ "" ]
  | [ Sep.space . label "#name" . del /"/ "\"" . store /[^"\n]*[ \t=#{}][^"\n]*/ . del /"/ "\"" ]

(* View: lbrace  " {", maybe a comment after it *)
let lbrace = del /[ \t]*\{[ \t]*(#[^\n"]*)?\n/ " {\n"

(* View: lines_at  what a block holds, new lines indented IND *)
let lines_at (ind:string) = comment_at ind | Util.empty | entry_at ind | command_at ind

(* View: block_at  a block at indent IND holding BODY; its "}" at IND too *)
let block_at (ind:string) (body:lens) =
  [ del /[ \t]*/ ind . key name . arg? . lbrace . body* . del /[ \t]*\}[ \t]*(#[^\n]*)?\n/ (ind . "}\n") ]

(* View: block  nested to any depth. New lines inside a block are indented two blanks, whatever
   the depth (a recursive lens has one default; written out level by level the lens cost twice
   as much to compile, and Augeas cannot write through a recursive lens below levels written out) *)
let rec block =
  [ Util.indent . key name . arg? . lbrace . (lines_at "  " | block)* . del /[ \t]*\}[ \t]*(#[^\n]*)?\n/ "}\n" ]

(* View: lns *)
let lns = (lines_at "" | block)*
