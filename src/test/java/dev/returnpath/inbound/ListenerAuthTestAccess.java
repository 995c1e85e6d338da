package dev.returnpath.inbound;

import dev.returnpath.testkit.TestPki;
import dev.returnpath.testkit.TestRelay;

import java.net.Socket;

/** A TLS session to a test relay, EHLO sent after STARTTLS. */
final class ListenerAuthTestAccess {
    private ListenerAuthTestAccess() {}

    static ListenerTlsTest.Client tls(TestRelay relay, TestPki pki) throws Exception {
        ListenerTlsTest.Client c = new ListenerTlsTest.Client(new Socket("127.0.0.1", relay.port()));
        c.reply();
        c.command("EHLO app.test");
        c.startTls(pki.clientContext("TLS"));
        c.command("EHLO app.test");
        return c;
    }
}
