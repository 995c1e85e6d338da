<?php
// A legacy app's mail: no -f, a host-name envelope sender. returnpath makes it pass SPF/DMARC.
$ok = mail('customer@example.org', 'Your order #1042',
           "Hello,\r\nyour order has shipped.\r\n",
           "From: Shop <noreply@example.com>\r\nContent-Type: text/plain; charset=UTF-8");
header('Content-Type: text/plain');
echo $ok ? "sent\n" : "mail() failed: see the returnpath container's log\n";
