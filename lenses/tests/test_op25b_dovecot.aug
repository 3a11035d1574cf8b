(*
Module: Test_Op25b_Dovecot
  augparse tests for Op25b_Dovecot:  augparse -I lenses lenses/tests/test_op25b_dovecot.aug
*)
module Test_Op25b_Dovecot =

(* A conf.d file without blocks: the stock lens's tree, but for the commands' '!' and "NAME =". *)
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

test Op25b_Dovecot.lns get conf =
  { "#comment" = "# SSL settings" }
  { "#comment" = "comment with { and } in it" }
  { "ssl" = "yes" }
  { "ssl_cert" = "</etc/dovecot/private/dovecot.pem" }
  { "ssl_key" = "</etc/dovecot/private/dovecot.key" }
  { "ssl_cipher_list" = "ALL:!kRSA:!SRP" }
  { "login_greeting" = "Dovecot ready." }
  { "empty_value" = "=" }
  { "!include_try" = "/usr/share/dovecot/protocols.d/*.protocol" }
  { "!include" = "conf.d/*.conf" }
  { }

(* op25b's edits keep every other byte; new settings are written "NAME = VALUE". *)
test Op25b_Dovecot.lns put conf after
  set "/ssl" "required";
  set "/ssl_cert" "</etc/letsencrypt/live/mail.example/fullchain.pem";
  rm "/ssl_key";
  set "/empty_value" "x";
  set "/ssl_server_key_file" "/k.pem"
= "## SSL settings
# comment with { and } in it
ssl = required
  ssl_cert = </etc/letsencrypt/live/mail.example/fullchain.pem
ssl_cipher_list = ALL:!kRSA:!SRP
login_greeting = Dovecot ready.   
empty_value = x
!include_try /usr/share/dovecot/protocols.d/*.protocol
!include conf.d/*.conf

ssl_server_key_file = /k.pem
"

(* Block arguments the stock lens refuses: names with dots, networks, negation, quotes. *)
test Op25b_Dovecot.lns get "local_name mail.example.org {
  ssl_cert = </etc/ssl/mail.pem
}
remote 192.0.2.0/24 {
  auth_mechanisms = plain
}
service auth {
  unix_listener /run/a.b/auth {
    mode = 0660
  }
}
protocol !indexer-worker {
  mail_vsize_bg_after_count = 100
}
namespace inbox {
  mailbox \"Sent Messages\" {
    special_use = \\Sent
  }
  mailbox \"Archive\" {
    special_use = \\Archive
  }
}
" =
  { "local_name" { "#name" = "mail.example.org" } { "ssl_cert" = "</etc/ssl/mail.pem" } }
  { "remote" { "#name" = "192.0.2.0/24" } { "auth_mechanisms" = "plain" } }
  { "service" { "#name" = "auth" }
    { "unix_listener" { "#name" = "/run/a.b/auth" } { "mode" = "0660" } } }
  { "protocol" { "#name" = "!indexer-worker" } { "mail_vsize_bg_after_count" = "100" } }
  { "namespace" { "#name" = "inbox" }
    { "mailbox" { "#name" = "Sent Messages" } { "special_use" = "\\Sent" } }
    { "mailbox" { "#name" = "Archive" } { "special_use" = "\\Archive" } } }

(* !include inside a block, a comment after '{' and '}', empty blocks, a '\' continuation. *)
test Op25b_Dovecot.lns get "passdb {
  !include_try auth-system.conf.ext
}
plugin { # quota
}
userdb {
} # end
password_query = SELECT userid AS user \\
  FROM users
" =
  { "passdb" { "!include_try" = "auth-system.conf.ext" } }
  { "plugin" }
  { "userdb" }
  { "password_query" = "SELECT userid AS user \\\n  FROM users" }

(* Dovecot 2.4: blocks without argument, named passdbs, @groups, settings of a block's name. *)
let v24 = "dovecot_config_version = 2.4.1
protocols {
  imap = yes
}
mail_plugins {
  quota = yes
}
passdb pam {
  driver = pam
}
@group_name mail_group {
  mail_path = %{home}/Maildir
}
@group_name = mail_group
!include conf.d/*.conf
ssl_server {
  cert_file = /etc/ssl/old.pem
  key_file = /etc/ssl/old.key
}
"
test Op25b_Dovecot.lns get v24 =
  { "dovecot_config_version" = "2.4.1" }
  { "protocols" { "imap" = "yes" } }
  { "mail_plugins" { "quota" = "yes" } }
  { "passdb" { "#name" = "pam" } { "driver" = "pam" } }
  { "@group_name" { "#name" = "mail_group" } { "mail_path" = "%{home}/Maildir" } }
  { "@group_name" = "mail_group" }
  { "!include" = "conf.d/*.conf" }
  { "ssl_server" { "cert_file" = "/etc/ssl/old.pem" } { "key_file" = "/etc/ssl/old.key" } }

(* Editing the block where the setting is. *)
test Op25b_Dovecot.lns put "!include conf.d/*.conf\nssl_server {\n  cert_file = /old.pem\n}\n" after
  set "/ssl_server/cert_file" "/new.pem"
= "!include conf.d/*.conf\nssl_server {\n  cert_file = /new.pem\n}\n"

(* A new setting inside a block is indented. *)
test Op25b_Dovecot.lns put "ssl_server {\n  key_file = /k.pem\n}\n" after
  set "/ssl_server/cert_file" "/c.pem"
= "ssl_server {\n  key_file = /k.pem\n  cert_file = /c.pem\n}\n"

(* A new block with a listener, as op25b adds it to a dovecot.conf without conf.d. *)
test Op25b_Dovecot.lns put "# x\n" after
  set "/service[#name = 'auth']/#name" "auth";
  set "/service[#name = 'auth']/unix_listener/#name" "/var/spool/postfix/private/auth";
  set "/service[#name = 'auth']/unix_listener/mode" "0660"
= "# x\nservice auth {\nunix_listener /var/spool/postfix/private/auth {\n  mode = 0660\n}\n}\n"

(* Not Dovecot: an unclosed block, a stray '}', text without '='. *)
test Op25b_Dovecot.lns get "service auth {\n" = *
test Op25b_Dovecot.lns get "}\n" = *
test Op25b_Dovecot.lns get "just words\n" = *
