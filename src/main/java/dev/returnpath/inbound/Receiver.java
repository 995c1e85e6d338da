package dev.returnpath.inbound;

import dev.returnpath.config.RelayConfig;
import dev.returnpath.message.MessageBytes;
import dev.returnpath.ops.MailEvent;
import dev.returnpath.ops.MailLog;
import dev.returnpath.ops.Metrics;
import org.subethamail.smtp.RejectException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The end of {@code inbound}: DATA is read into the 64 KiB buffer lent with a scratch file of
 * {@code queue.dir/incoming}, and into that file when it does not fit ({@link DataReceiver}),
 * becomes a {@link ReceivedMessage}, and is handed to the
 * {@link MessageSink} (cleanup, then the hand-off); the sink's answer becomes the reply to
 * DATA. The buffer and the scratch file are reused for the next message once the sink returned.
 *
 * <p>Never judges a message before its DATA is all read: a reply sent earlier would make
 * SubEtha read the rest of the body as commands.
 */
public final class Receiver {
    /** The listener's limit on a message's header section, in bytes (DATA is refused past it). */
    public static final int MAX_HEADER_BYTES = DataReceiver.MAX_HEADER_BYTES;

    private final MessageSink sink;
    private final Metrics metrics;
    private final QueueId ids;
    private final ScratchFiles scratch = new ScratchFiles();

    /** @param ids the queue IDs, shared with the DSNs the relay writes itself */
    public Receiver(MessageSink sink, Metrics metrics, QueueId ids) {
        this.sink = sink;
        this.metrics = metrics;
        this.ids = ids;
    }

    /**
     * Receives the DATA of {@code t}, and hands it on; returns the text of the 250 reply.
     *
     * @param data SubEtha's DATA stream
     * @param raw  the session's own input, positioned at the start of DATA, when it may be read
     *             in blocks instead ({@link DataReceiver#receiveRaw}); {@code data} is then only
     *             used to drain after a failure
     */
    String accept(Transaction t, InputStream data, Optional<InputStream> raw) throws RejectException {
        RelayConfig cfg = t.config;
        String id = ids.next();
        ScratchFiles.Scratch file = null;
        DataReceiver.Received r;
        try {
            file = scratch.borrow(cfg.queue().dir().resolve("incoming"));
            long max = cfg.listen().maxMessageSize();
            if (raw.isPresent()) {
                r = DataReceiver.receiveRaw(raw.get(), file.channel, max, cfg.listen().bareNewline(), false, file.buffer,
                        true);
                // SubEtha's stream reads the ".CRLF" left for it and ends: DATA is all read
                // before anything is judged (SubEtha drains it only after a 250, not after a reject)
                drain(data);
            } else {
                r = DataReceiver.receive(data, file.channel, max, cfg.listen().bareNewline(), false, file.buffer, true);
            }
        } catch (DataDeadline.Exceeded e) {
            // not drained: the client is too slow for that; the connection is closed instead
            if (file != null) {
                scratch.giveBack(file, 0, false);
            }
            MailLog.log(new MailEvent.Rejected(MailEvent.Arrival.of(id, t.client.getHostAddress(), t.helo, t.reversePath,
                    t.authUser), 421, "4.4.2", e.getMessage()));
            metrics.message("rejected", "data-timeout");
            throw new org.subethamail.smtp.DropConnectionException(421, "4.4.2 " + e.getMessage()
                    + ": closing connection");
        } catch (IOException e) {
            drain(data);
            if (file != null) {
                scratch.giveBack(file, 0, false);
            }
            MailLog.log(new MailEvent.StorageError(id, Optional.of(t.client.getHostAddress()),
                    "cannot write the spool file: " + e.getMessage()));
            metrics.message("rejected", "storage");
            throw new RejectException(452, "4.3.1 Insufficient system storage");
        }
        ReceivedMessage m = new ReceivedMessage(id, cfg, t.client, t.helo, t.authUser, t.reversePath, t.forwardPaths,
                t.arrival, new ReceivedMessage.Data(r.inBuffer() ? new MessageBytes.InMemory(file.buffer, (int) r.size())
                : new MessageBytes.InFile(file.path, file.channel), r.headerBytes(), r.bodyOffset(), r.size(),
                r.tooBig(), r.headerTooBig(), r.bareNewline()));
        try {
            return sink.accept(m);
        } catch (Refusal e) {
            throw new RejectException(e.code(), e.enhanced() + " " + e.text());
        } finally {
            // nothing of a message kept in the buffer went to the file
            scratch.giveBack(file, r.inBuffer() ? 0 : r.size(), true);
        }
    }

    private static void drain(InputStream in) {
        byte[] buf = new byte[1024]; // SubEtha's streams give a byte per call whatever the buffer
        try {
            while (in.read(buf) != -1) {
                // read to the end of DATA so that the body is not taken for commands
            }
        } catch (IOException ignored) {
            // the client is gone; SubEtha will notice
        }
    }

    /**
     * Passthrough start: removes what a relay that crashed left in {@code queue.dir/incoming}
     * (messages that were never answered 250). Returns how many files. Spool mode does the same
     * in {@code Spool.open}.
     */
    public static int removeIncomingLeftovers(Path queueDir) throws IOException {
        return ScratchFiles.removeLeftovers(queueDir.resolve("incoming"));
    }

    /** Deletes the idle scratch files; call after the listener stopped. */
    public void close() {
        scratch.close();
    }
}
