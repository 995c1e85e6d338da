package dev.returnpath.dns;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Zone;

/**
 * A small authoritative DNS server on loopback UDP, answering from zones ({@link ZoneAnswers}):
 * the real socket path of dnsjava's {@code SimpleResolver} in tests. Start it on port 0 and read
 * {@link #port()}. A name marked TIMEOUT gets no reply at all.
 *
 * <p>{@link #main} serves master files for the {@code check-spf --batch} benchmark:
 * {@code java -cp ... dev.returnpath.dns.UdpZoneServer PORT FILE...} (origin "." for each file).
 */
public final class UdpZoneServer implements AutoCloseable {
    private final DatagramSocket socket;
    private final ZoneAnswers answers;
    private final Thread thread;
    private final AtomicInteger queries = new AtomicInteger();
    /** Every Nth query packet received is dropped, unanswered (0: none); a lossy network. */
    private volatile int dropEvery;
    private final AtomicInteger packets = new AtomicInteger();

    private UdpZoneServer(DatagramSocket socket, ZoneAnswers answers) {
        this.socket = socket;
        this.answers = answers;
        this.thread = Thread.ofPlatform().daemon().name("udp-zone-server-" + socket.getLocalPort()).start(this::serve);
    }

    /** Starts serving {@code zones} on 127.0.0.1:{@code port} (0 picks a free port). */
    public static UdpZoneServer start(List<Zone> zones, int port) throws SocketException {
        DatagramSocket socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        return new UdpZoneServer(socket, new ZoneAnswers(zones));
    }

    public int port() {
        return socket.getLocalPort();
    }

    /** "127.0.0.1:PORT", the form {@code dns.servers} and {@code --dns-server} take. */
    public String address() {
        return socket.getLocalAddress().getHostAddress() + ":" + port();
    }

    public int queryCount() {
        return queries.get();
    }

    /**
     * Drops, unanswered, every {@code n}th query packet from now on (1: every packet, 0: none),
     * counting from the first: {@code dropEvery(2)} loses the next one, answers the one after.
     */
    public UdpZoneServer dropEvery(int n) {
        packets.set(0);
        dropEvery = n;
        return this;
    }

    private void serve() {
        byte[] buffer = new byte[65535];
        while (!socket.isClosed()) {
            DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
            try {
                socket.receive(packet);
            } catch (IOException e) {
                return; // closed
            }
            try {
                byte[] data = new byte[packet.getLength()];
                System.arraycopy(packet.getData(), packet.getOffset(), data, 0, data.length);
                Message query = new Message(data);
                queries.incrementAndGet();
                int every = dropEvery;
                if (every > 0 && packets.getAndIncrement() % every == 0) {
                    continue; // lost on the way
                }
                if (answers.answer(query) instanceof ZoneAnswers.Reply.Answer answer) {
                    OPTRecord opt = query.getOPT();
                    int max = opt == null ? 512 : Math.max(512, opt.getPayloadSize());
                    byte[] wire = answer.message().toWire(max); // sets TC when it does not fit
                    socket.send(new DatagramPacket(wire, wire.length, packet.getSocketAddress()));
                }
            } catch (IOException e) {
                // a malformed query gets no answer, as from a real server under attack
            }
        }
    }

    @Override
    public void close() {
        socket.close();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** {@code UdpZoneServer PORT FILE...}: serves the master files until killed. */
    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: UdpZoneServer PORT ZONEFILE...");
            System.exit(2);
        }
        List<Zone> zones = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            try (var in = Files.newInputStream(Path.of(args[i]))) {
                zones.add(new Zone(Name.root, in));
            }
        }
        UdpZoneServer server = start(zones, Integer.parseInt(args[0]));
        System.out.println(server.address());
        System.out.flush();
        server.thread.join();
    }
}
