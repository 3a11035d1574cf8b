module Test_Op25b_Postfix_Map =

let conf = "# relay credentials
[smtp.isp.example]:587 homeuser:s3cret with spaces
[2001:db8::1]:587\tuser@isp.example:p:a#ss

"

test Op25b_Postfix_Map.lns get conf =
  { "#comment" = " relay credentials" }
  { "pattern" = "[smtp.isp.example]:587" { "value" = "homeuser:s3cret with spaces" } }
  { "pattern" = "[2001:db8::1]:587" { "value" = "user@isp.example:p:a#ss" } }
  { }

test Op25b_Postfix_Map.lns put conf after
  set "/pattern[. = '[smtp.isp.example]:587']/value" "other:pw";
  set "/pattern[last()+1]" "[mail.example]:465";
  set "/pattern[last()]/value" "u:p"
= "# relay credentials
[smtp.isp.example]:587 other:pw
[2001:db8::1]:587\tuser@isp.example:p:a#ss

[mail.example]:465 u:p
"

test Op25b_Postfix_Map.lns put "" after
  set "/pattern" "[h]:587";
  set "/pattern/value" "u:p"
= "[h]:587 u:p\n"
