package dev.returnpath.queue;

import dev.returnpath.queue.QueueEntry.Recipient;
import dev.returnpath.queue.QueueEntry.State;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UTFDataFormatException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * {@code queue.dir/list-index}: a copy of the envelopes in {@code queue/}, in one file, so that
 * {@code queue list} reads one file instead of one per waiting message (100,000 after a long
 * outage). Derived data only: nothing but {@code queue list} reads it, nothing is ever decided on
 * it, and it is never fsynced. {@code queue list} rebuilds it when it is missing, damaged (its
 * CRC32C fails) or stale, and an entry it does not vouch for is read from its own envelope.
 *
 * <p>How it knows it is current. Every change to {@code queue/} (a new entry, an envelope
 * replaced by rename, a removal) changes the directory's modification time. The index records
 * that time as it was <em>before</em> the scan that built it, and the wall clock when the scan
 * began. While the directory's time is still the recorded one, and was already at least
 * {@link #RACY_NANOS} older than the scan (so that a change made during the scan cannot share
 * the directory's timestamp, whose granularity is a clock tick or, on some filesystems, a
 * second: git's "racy clean" problem), no envelope has changed and the index is used as it is:
 * no directory listing, no per-entry I/O. Otherwise the directory is listed and each envelope
 * is checked against the index by its file key (device and inode), modification time and size
 * (taken before it was read, never after); those that differ are read again. An envelope
 * written less than {@link #RACY_NANOS} before the scan is recorded without a copy, so it is
 * always read from its file. What this does not see: an envelope edited in place by hand (the
 * relay always writes a new file and renames it) shows its old content in {@code queue list}
 * until the next change to {@code queue/}; {@code queue show} always reads the file.
 *
 * <p>Format: magic, version, the directory time (ns), the scan start (ns since the epoch), the
 * record count; per record the ID, a flag, and when flagged the file key, time, size and the
 * envelope in binary (strings as modified UTF-8); then the CRC32C of everything before it.
 */
final class ListIndex {
    static final String FILE = "list-index";
    private static final int MAGIC = 0x52504c49; // "RPLI"
    private static final int VERSION = 1;
    /** How much older than the scan a timestamp must be before an equal one proves "unchanged". */
    static final long RACY_NANOS = 2_000_000_000L;

    /** The index as read: records sorted by ID; {@code payload[i] < 0} when record i has no copy. */
    record Loaded(long directoryTime, long scanStart, String[] ids, String[] keys, long[] times, long[] sizes,
                  int[] payload, byte[] data) {

        /** The index is current for every entry: {@code queue/} has not changed since its scan began. */
        boolean quiet(long directoryTimeNow) {
            return directoryTimeNow == directoryTime && directoryTime < scanStart - RACY_NANOS;
        }

        int find(String id) {
            int i = Arrays.binarySearch(ids, id);
            return i < 0 ? -1 : i;
        }

        /** Record {@code i}'s entry when it has a copy and {@code v} (read now) is the validator it was taken with. */
        Optional<QueueEntry> entryIf(int i, Validator v) {
            if (i < 0 || payload[i] < 0 || (v != null && !v.matches(keys[i], times[i], sizes[i]))) {
                return Optional.empty();
            }
            return Optional.of(entry(i));
        }

        /** Record {@code i}'s copy; {@link IllegalStateException} when it does not decode (its CRC passed: a bug). */
        QueueEntry entry(int i) {
            try {
                return decode(new DataInputStream(new ByteArrayInputStream(data, payload[i], data.length - payload[i])));
            } catch (IOException | RuntimeException e) {
                throw new IllegalStateException("list index record " + ids[i] + " cannot be decoded: " + e, e);
            }
        }

        boolean hasCopy(int i) {
            return payload[i] >= 0;
        }

        /** The record as the next index keeps it, when the directory did not change. */
        Record record(int i) {
            return payload[i] < 0 ? Record.uncopied(ids[i], true)
                    : new Record(ids[i], new Validator(keys[i], times[i], sizes[i]), entry(i), true);
        }
    }

    /** What an envelope file was when it was read: file key (device and inode), modification time, size. */
    record Validator(String key, long time, long size) {
        static Optional<Validator> of(Path env) throws IOException {
            BasicFileAttributes a;
            try {
                a = Files.readAttributes(env, BasicFileAttributes.class);
            } catch (java.nio.file.NoSuchFileException e) {
                return Optional.empty();
            }
            Object k = a.fileKey();
            return Optional.of(new Validator(k == null ? "" : k.toString(),
                    a.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS), a.size()));
        }

        boolean matches(String k, long t, long s) {
            return !key.isEmpty() && key.equals(k) && time == t && size == s;
        }
    }

    /** One entry of the next index: a copy of its envelope with the validator it was read under, or none. */
    record Record(String id, Validator validator, QueueEntry entry, boolean fromIndex) {
        static Record uncopied(String id, boolean fromIndex) {
            return new Record(id, null, null, fromIndex);
        }
    }

    private ListIndex() {}

    /** The index of {@code root}, or empty when there is none or it is damaged, of another version, unreadable. */
    static Optional<Loaded> load(Path root) {
        byte[] data;
        try {
            data = Files.readAllBytes(root.resolve(FILE));
        } catch (IOException e) {
            return Optional.empty(); // none yet, or written by another user (0600)
        }
        if (data.length < 32) {
            return Optional.empty();
        }
        CRC32C crc = new CRC32C();
        crc.update(data, 0, data.length - 4);
        if ((int) crc.getValue() != ByteBuffer.wrap(data, data.length - 4, 4).getInt()) {
            return Optional.empty(); // torn by a crash or a full disk: rebuilt by this listing
        }
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(data, 0, data.length - 4));
            if (in.readInt() != MAGIC || in.readInt() != VERSION) {
                return Optional.empty();
            }
            long dirTime = in.readLong();
            long scanStart = in.readLong();
            int n = in.readInt();
            if (n < 0 || n > data.length) {
                return Optional.empty();
            }
            String[] ids = new String[n];
            String[] keys = new String[n];
            long[] times = new long[n];
            long[] sizes = new long[n];
            int[] payload = new int[n];
            for (int i = 0; i < n; i++) {
                ids[i] = in.readUTF();
                if (i > 0 && ids[i - 1].compareTo(ids[i]) >= 0) {
                    return Optional.empty();
                }
                if (in.readBoolean()) {
                    keys[i] = in.readUTF();
                    times[i] = in.readLong();
                    sizes[i] = in.readLong();
                    int len = in.readInt();
                    payload[i] = data.length - 4 - in.available();
                    if (len < 0 || in.skipBytes(len) != len) {
                        return Optional.empty();
                    }
                } else {
                    payload[i] = -1;
                }
            }
            return Optional.of(new Loaded(dirTime, scanStart, ids, keys, times, sizes, payload, data));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * Writes the index of {@code records} (sorted by ID) under {@code root}: a temporary file,
     * then a rename, so that a reader sees the old index or the new one. Not fsynced: after a
     * power cut a torn index fails its CRC and is rebuilt.
     */
    static void write(Path root, long directoryTime, long scanStart, List<Record> records) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(64 + records.size() * 256);
        DataOutputStream out = new DataOutputStream(buf);
        out.writeInt(MAGIC);
        out.writeInt(VERSION);
        out.writeLong(directoryTime);
        out.writeLong(scanStart);
        out.writeInt(records.size());
        ByteArrayOutputStream one = new ByteArrayOutputStream(512);
        for (Record r : records) {
            out.writeUTF(r.id());
            byte[] payload = null;
            if (r.validator() != null && r.validator().time() < scanStart - RACY_NANOS) {
                one.reset();
                try {
                    encode(new DataOutputStream(one), r.entry());
                    payload = one.toByteArray();
                } catch (UTFDataFormatException tooLong) {
                    payload = null; // a reply over 64 KiB: this entry is read from its file
                }
            }
            out.writeBoolean(payload != null);
            if (payload != null) {
                out.writeUTF(r.validator().key());
                out.writeLong(r.validator().time());
                out.writeLong(r.validator().size());
                out.writeInt(payload.length);
                out.write(payload);
            }
        }
        out.flush();
        CRC32C crc = new CRC32C();
        byte[] body = buf.toByteArray();
        crc.update(body);
        replace(root, body, (int) crc.getValue());
    }

    /**
     * Rewrites {@code index} with a new directory time and scan start and the same records: the
     * listing found every record current although {@code queue/} had changed (an entry came and
     * went, a temporary file), so that the next listing may skip the directory again.
     */
    static void retime(Path root, Loaded index, long directoryTime, long scanStart) throws IOException {
        byte[] body = Arrays.copyOf(index.data(), index.data().length - 4);
        ByteBuffer.wrap(body).putLong(8, directoryTime).putLong(16, scanStart);
        CRC32C crc = new CRC32C();
        crc.update(body);
        replace(root, body, (int) crc.getValue());
    }

    private static void replace(Path root, byte[] body, int crc) throws IOException {
        // derived data: not forced to disk (a crash may leave a stale or damaged index, rebuilt)
        SpoolDirectory.replace(root.resolve(FILE), root.resolve(FILE + ".tmp." + ProcessHandle.current().pid()), false,
                ByteBuffer.wrap(body), ByteBuffer.allocate(4).putInt(crc).flip());
    }

    private static void encode(DataOutputStream o, QueueEntry e) throws IOException {
        o.writeUTF(e.id());
        o.writeLong(e.arrival().getEpochSecond());
        o.writeInt(e.arrival().getNano());
        o.writeUTF(e.client());
        o.writeUTF(e.helo());
        o.writeUTF(e.sender());
        o.writeUTF(e.returnPath());
        o.writeLong(e.size());
        o.writeInt(e.attempts());
        o.writeLong(e.nextAttempt().getEpochSecond());
        o.writeInt(e.nextAttempt().getNano());
        o.writeBoolean(e.warned());
        o.writeInt(e.recipients().size());
        for (Recipient r : e.recipients()) {
            o.writeUTF(r.address());
            o.writeByte(r.state().ordinal());
            o.writeUTF(r.relay());
            o.writeUTF(r.reply());
        }
    }

    private static QueueEntry decode(DataInputStream in) throws IOException {
        String id = in.readUTF();
        Instant arrival = Instant.ofEpochSecond(in.readLong(), in.readInt());
        String client = in.readUTF();
        String helo = in.readUTF();
        String sender = in.readUTF();
        String returnPath = in.readUTF();
        long size = in.readLong();
        int attempts = in.readInt();
        Instant next = Instant.ofEpochSecond(in.readLong(), in.readInt());
        boolean warned = in.readBoolean();
        int n = in.readInt();
        List<Recipient> rcpts = new ArrayList<>(n);
        State[] states = State.values();
        for (int i = 0; i < n; i++) {
            String address = in.readUTF();
            State state = states[in.readByte()];
            rcpts.add(new Recipient(address, state, in.readUTF(), in.readUTF()));
        }
        return new QueueEntry(id, arrival, client, helo, sender, returnPath, size, attempts, next, warned, rcpts);
    }
}
