package dev.returnpath.inbound;

import dev.returnpath.config.RelayConfig.ListenTls;
import dev.returnpath.tls.ServerCredentials;
import dev.returnpath.tls.TlsPolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.server.SSLSocketCreator;
import org.subethamail.smtp.server.ServerSocketCreator;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The listener's TLS sockets: STARTTLS on {@code listen.port} (SubEtha asks us for the
 * {@link SSLSocket} through {@link SSLSocketCreator}, so the protocols and suites are ours,
 * {@link TlsPolicy}, not the context's defaults), and the implicit-TLS port, whose accepted
 * sockets are wrapped the same way (the handshake then runs on the session's thread, not the
 * accept loop).
 *
 * <p>Certificates rotate without a restart: before each handshake the two files' size and
 * modification time are compared with those last loaded (two stats); when they changed the
 * pair is read again and, if it is good, used from this handshake on. A pair that cannot be
 * used (a key written after its certificate, mid-rotation) is logged once and the previous
 * pair stays in use. A reload of the configuration that names other files is picked up the
 * same way.
 */
final class ListenerTls implements SSLSocketCreator {
    private static final Logger log = LoggerFactory.getLogger("returnpath");

    private final Supplier<Optional<ListenTls>> config;
    private volatile Loaded loaded;
    /** The stamp of the last pair that failed to load, so that it is logged once. */
    private volatile Stamp failed;

    private record Stamp(Path cert, Path key, long certSize, long certModified, long keySize, long keyModified) {}

    private record Loaded(Stamp stamp, SSLContext context) {}

    ListenerTls(Supplier<Optional<ListenTls>> config, ListenTls initial) {
        this.config = config;
        this.loaded = new Loaded(stamp(initial.certFile(), initial.keyFile()), initial.credentials().sslContext());
    }

    /** The context in force: the current files, re-read if they changed since the last load. */
    SSLContext context() {
        Loaded l = loaded;
        Optional<ListenTls> now = config.get();
        if (now.isEmpty()) {
            return l.context(); // TLS turned off in a reload: takes effect at restart, like turning it on
        }
        Stamp s = stamp(now.get().certFile(), now.get().keyFile());
        if (s == null || s.equals(l.stamp()) || s.equals(failed)) {
            return l.context();
        }
        synchronized (this) {
            if (s.equals(loaded.stamp())) {
                return loaded.context();
            }
            try {
                SSLContext ctx = ServerCredentials.load(s.cert(), s.key()).sslContext();
                loaded = new Loaded(s, ctx);
                log.info("tls: certificate reloaded from {} and {}", s.cert(), s.key());
                return ctx;
            } catch (ServerCredentials.CredentialsException e) {
                failed = s;
                log.warn("tls: the changed certificate files cannot be used, the previous pair stays in use: {}",
                        e.getMessage());
                return loaded.context();
            }
        }
    }

    private static Stamp stamp(Path cert, Path key) {
        try {
            BasicFileAttributes c = Files.readAttributes(cert, BasicFileAttributes.class);
            BasicFileAttributes k = Files.readAttributes(key, BasicFileAttributes.class);
            return new Stamp(cert, key, c.size(), c.lastModifiedTime().toMillis(), k.size(), k.lastModifiedTime().toMillis());
        } catch (IOException | RuntimeException e) {
            return null; // gone for a moment (being replaced): keep what is loaded
        }
    }

    /** The server side of a TLS session over {@code plain}, with the listener's protocols and suites. */
    @Override
    public SSLSocket createSSLSocket(Socket plain) throws IOException {
        SSLContext ctx = context();
        // over the TCP socket itself: CommandErrors watches the plain text above TLS, not the records
        Socket transport = CommandErrors.transport(plain);
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(transport,
                transport.getInetAddress().getHostAddress(), transport.getPort(), true);
        s.setUseClientMode(false);
        s.setSSLParameters(TlsPolicy.serverParameters(ctx));
        return s;
    }

    /** For the implicit-TLS port: a server socket whose accepted connections are TLS from the first byte. */
    ServerSocketCreator implicitServerSockets() {
        // over a CoalescedReplies socket: the TLS records of a pipelined group's replies in one write
        return () -> new CoalescedReplies.ReplyServerSocket() {
            @Override
            public Socket accept() throws IOException {
                Socket plain = super.accept();
                try {
                    return createSSLSocket(plain);
                } catch (IOException | RuntimeException e) {
                    plain.close();
                    throw e;
                }
            }
        };
    }

    @Override
    public String toString() {
        return "ListenerTls[" + Objects.toString(loaded.stamp()) + "]";
    }
}
