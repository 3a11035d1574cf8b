(*
Module: Op25b_Postfix_Map
  A Postfix lookup table source (postmap(1) input): "KEY VALUE" lines, "#" comments, empty lines.
  op25b uses it for the SASL password map ("[smtp.isp.example]:587 user:password").

  Why not the stock Postfix_Passwordmap: its key regex rejects IPv6 relay hosts
  ("[2001:db8::1]:587") and its user name regex rejects many real user names. Here the key is any
  run of non-blank bytes and the value the rest of the line (postmap trims it the same way).

  Tree:  /pattern = "[smtp.isp.example]:587"
           /value = "user:pass word"
  No autoload: op25b applies it to the file it names.
*)
module Op25b_Postfix_Map =

let eol     = del /[ \t]*\n/ "\n"
let sep     = del /[ \t]+/ " "
let key_re  = /[^ \t\n#][^ \t\n]*/
let val_re  = /[^ \t\n]([^\n]*[^ \t\n])?/

(* the text after "#" is kept verbatim, blanks included *)
let comment = [ label "#comment" . del /[ \t]*#/ "#" . store /[^\n]*/ . del "\n" "\n" ]
let empty   = [ del /[ \t]*\n/ "\n" ]
let record  = [ label "pattern" . store key_re . sep . [ label "value" . store val_re ] . eol ]

let lns = (comment | empty | record)*
