module Test_Op25b_Dovecot =

(* A conf.d file without blocks: the stand-in and the stock lens give the same tree ... *)
let conf = "## SSL settings
# comment with { and } in it
ssl = yes
  ssl_cert = </etc/dovecot/private/dovecot.pem
ssl_key =</etc/dovecot/private/dovecot.key
ssl_cipher_list = ALL:!kRSA:!SRP
login_greeting = Dovecot ready.   
empty_value =
!include_try /usr/share/dovecot/protocols.d/*.protocol
!include conf.d/*.conf

"

let tree = { "#comment" = "# SSL settings" }
  { "#comment" = "comment with { and } in it" }
  { "ssl" = "yes" }
  { "ssl_cert" = "</etc/dovecot/private/dovecot.pem" }
  { "ssl_key" = "</etc/dovecot/private/dovecot.key" }
  { "ssl_cipher_list" = "ALL:!kRSA:!SRP" }
  { "login_greeting" = "Dovecot ready." }
  { "empty_value" }
  { "include_try" = "/usr/share/dovecot/protocols.d/*.protocol" }
  { "include" = "conf.d/*.conf" }
  { }

test Op25b_Dovecot.lns get conf = tree
test Dovecot.lns get conf = tree

(* ... and write the same bytes for op25b's edits. *)
let edited = "## SSL settings
# comment with { and } in it
ssl = required
  ssl_cert = </etc/letsencrypt/live/mail.example/fullchain.pem
ssl_cipher_list = ALL:!kRSA:!SRP
login_greeting = Dovecot ready.   
empty_value =
!include_try /usr/share/dovecot/protocols.d/*.protocol
!include conf.d/*.conf

ssl_server_key_file =/k.pem
"

test Op25b_Dovecot.lns put conf after
  set "/ssl" "required";
  set "/ssl_cert" "</etc/letsencrypt/live/mail.example/fullchain.pem";
  rm "/ssl_key";
  set "/ssl_server_key_file" "/k.pem"
= edited

test Dovecot.lns put conf after
  set "/ssl" "required";
  set "/ssl_cert" "</etc/letsencrypt/live/mail.example/fullchain.pem";
  rm "/ssl_key";
  set "/ssl_server_key_file" "/k.pem"
= edited

(* Blocks are the stock lens's: the stand-in does not read them. *)
test Op25b_Dovecot.lns get "service auth {\n}\n" = *
