package dev.returnpath.inbound;

import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class CoalescedRepliesTest {
    @TempDir
    Path dir;

    private static String readOnce(InputStream in) throws Exception {
        byte[] b = new byte[16384];
        int n = in.read(b);
        return n < 0 ? "" : new String(b, 0, n, StandardCharsets.US_ASCII);
    }

    /** Reads until {@code lines} reply lines ending in a final line have come, in as many reads as it takes. */
    private static String readReplies(InputStream in, int finals) throws Exception {
        StringBuilder b = new StringBuilder();
        while (finalLines(b.toString()) < finals) {
            String got = readOnce(in);
            if (got.isEmpty()) {
                break;
            }
            b.append(got);
        }
        return b.toString();
    }

    private static int finalLines(String s) {
        int n = 0;
        for (String l : s.split("\r\n")) {
            if (l.length() >= 4 && l.charAt(3) == ' ') {
                n++;
            }
        }
        return n;
    }

    private static List<String> codes(String replies) {
        List<String> out = new ArrayList<>();
        for (String l : replies.split("\r\n")) {
            if (l.length() >= 4 && l.charAt(3) == ' ') {
                out.add(l.substring(0, 3));
            }
        }
        return out;
    }

    /** A connection to {@code relay}, its greeting read. */
    private static Socket greeted(TestRelay relay) throws Exception {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), relay.port());
        s.setSoTimeout(10_000);
        assertThat(readReplies(s.getInputStream(), 1)).startsWith("220 ");
        return s;
    }

    @Test
    void heldBytesGoOutWhenTheSessionReadsOrClosesAndNotBefore() throws Exception {
        try (ServerSocket server = CoalescedReplies.serverSockets().createServerSocket()) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            try (Socket client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
                 Socket accepted = server.accept()) {
                assertThat(accepted).isInstanceOf(CoalescedReplies.ReplySocket.class);
                OutputStream out = accepted.getOutputStream();
                out.write("250 one\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                out.write("250 two\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                client.setSoTimeout(200);
                Thread.sleep(100);
                assertThat(client.getInputStream().available()).as("held after flush").isZero();
                // the session reads its next command: what it holds goes out first, in one write
                CompletableFuture<Integer> read = CompletableFuture.supplyAsync(() -> {
                    try {
                        return accepted.getInputStream().read();
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                client.setSoTimeout(5000);
                assertThat(readOnce(client.getInputStream())).isEqualTo("250 one\r\n250 two\r\n");
                client.getOutputStream().write('Q');
                assertThat(read.get(5, TimeUnit.SECONDS)).isEqualTo((int) 'Q');
                // closing the output (SubEtha's close after 221) writes what is held
                out.write("221 bye\r\n".getBytes(StandardCharsets.US_ASCII));
                out.close();
                assertThat(readOnce(client.getInputStream())).isEqualTo("221 bye\r\n");
                assertThat(client.getInputStream().read()).isEqualTo(-1);
            }
        }
    }

    @Test
    void aTlsLayerClosingItsTransportStillSendsWhatIsHeld() throws Exception {
        try (ServerSocket server = CoalescedReplies.serverSockets().createServerSocket()) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            try (Socket client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
                 Socket accepted = server.accept()) {
                accepted.getOutputStream().write("221 bye\r\n".getBytes(StandardCharsets.US_ASCII));
                accepted.shutdownOutput(); // TLS half-closes after its close_notify
                client.setSoTimeout(5000);
                assertThat(new String(client.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("221 bye\r\n");
            }
            try (Socket client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
                 Socket accepted = server.accept()) {
                accepted.getOutputStream().write("421 closing\r\n".getBytes(StandardCharsets.US_ASCII));
                accepted.close(); // Socket.close, as an SSLSocket closes the socket under it
                client.setSoTimeout(5000);
                assertThat(readOnce(client.getInputStream())).isEqualTo("421 closing\r\n");
            }
        }
    }

    @Test
    void aPipelinedGroupIsAnsweredInOrderInOneWriteAndTheMessageIsRelayedOnce() throws Exception {
        try (Upstream upstream = new Upstream(); TestRelay relay = new TestRelay(upstream.port(), dir.resolve("spool"), "");
             Socket s = greeted(relay)) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            out.write("EHLO web01.internal\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(readReplies(in, 1)).contains("250-PIPELINING\r\n");
            out.write(("MAIL FROM:<apache@web01.internal>\r\nRCPT TO:<a@gmail.test>\r\nRCPT TO:<no address>\r\n"
                    + "RCPT TO:<b@gmail.test>\r\nDATA\r\n").getBytes(StandardCharsets.US_ASCII));
            String group = readOnce(in);
            assertThat(codes(group)).as(group).hasSize(5);
            assertThat(codes(group).get(0)).isEqualTo("250");
            assertThat(codes(group).get(1)).isEqualTo("250");
            assertThat(codes(group).get(2)).startsWith("5");
            assertThat(codes(group).get(3)).isEqualTo("250");
            assertThat(codes(group).get(4)).isEqualTo("354");
            // the end of the message with a command pipelined after it: the reply to the message first
            out.write("From: noreply@example.com\r\nSubject: p\r\n\r\nbody\r\n.\r\nNOOP\r\n".getBytes(StandardCharsets.US_ASCII));
            String after = readReplies(in, 2);
            assertThat(codes(after)).as(after).containsExactly("250", "250");
            assertThat(after).startsWith("250 2.0.0");
            out.write("QUIT\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(readReplies(in, 1)).startsWith("221");
            assertThat(upstream.received).hasSize(1);
            assertThat(upstream.received.get(0).forwardPaths()).containsExactly("a@gmail.test", "b@gmail.test");
        }
    }

    @Test
    void aClientInLockstepGetsEachReplyWithoutSendingMore() throws Exception {
        try (Upstream upstream = new Upstream(); TestRelay relay = new TestRelay(upstream.port(), dir.resolve("spool"), "");
             Socket s = greeted(relay)) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            for (String[] step : new String[][] {{"HELO web01.internal", "250"}, {"MAIL FROM:<apache@web01.internal>", "250"},
                    {"RCPT TO:<a@gmail.test>", "250"}, {"DATA", "354"},
                    {"From: noreply@example.com\r\nSubject: l\r\n\r\nbody\r\n.", "250"}, {"QUIT", "221"}}) {
                out.write((step[0] + "\r\n").getBytes(StandardCharsets.US_ASCII));
                assertThat(codes(readReplies(in, 1))).as(step[0]).containsExactly(step[1]);
            }
            assertThat(upstream.received).hasSize(1);
        }
    }
}
