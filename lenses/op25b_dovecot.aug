(*
Module: Op25b_Dovecot
  A Dovecot configuration file without blocks (a conf.d file such as
  10-ssl.conf, op25b's own drop-ins), read into the same tree as the stock
  Dovecot lens gives: op25b uses it in place of Dovecot.lns for such files
  (src/aug.c), and the stock lens for files with blocks.

Author: op25b

About: Why
  The stock lens keeps setting names apart from block names with a regexp
  subtraction (Rx.word minus 14 block and command names): the result is a
  3.8 kB regexp, and the lens's regexps grow to 16 kB. Reading and writing a
  40-line 10-ssl.conf cost 120 M instructions, most of them glibc compiling and
  running those regexps. Without blocks there are no block names to keep apart
  (only the two commands' names), and the same file costs a fraction of that.

About: Same tree
  Every piece is the stock lens's own (Util.indent, Util.eol, Util.comment,
  Util.empty, Sep.opt_space, Rx.word, Rx.no_spaces, Rx.fspath): for a file
  without blocks both lenses give the same tree and write the same bytes.
  The one difference: a block name used as a setting ("service = x", which
  Dovecot itself rejects) is read here as a setting, and by the stock lens not
  at all.

About: Tree
  > /#comment = "SSL settings"
  > /ssl      = "yes"
  > /ssl_cert = "</etc/dovecot/private/dovecot.pem"
  > /include_try = "conf.d/*.conf"     ("!include_try conf.d/*.conf")

About: Loading
  No autoload; op25b applies it to text (aug_text_store).
*)
module Op25b_Dovecot =

(* View: eq *)
let eq = del /[ \t]*=/ " ="

(* Variable: value  blanks inside, none at either end (as in the stock lens) *)
let value = Rx.no_spaces . (Rx.space . Rx.no_spaces)*

(* Variable: commands *)
let commands = /include|include_try/

(* Variable: keys  setting names: as in the stock lens, not the commands' names (their nodes
   would look alike); block names need no keeping apart here *)
let keys = Rx.word - commands

(* View: entry  "key = value", "key =" *)
let entry = [ Util.indent . key keys . eq . (Sep.opt_space . store value)? . Util.eol ]

(* View: command  "!include FILE", "!include_try FILE" *)
let command = [ Util.del_str "!" . key commands . Sep.space . store Rx.fspath . Util.eol ]

(* View: lns *)
let lns = (Util.comment | Util.empty | entry | command)*
