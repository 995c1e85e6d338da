package dev.returnpath.delivery;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * The bytes that go upstream: a new header block ({@code header}: the relay's Received line
 * and the app's fields, minus Return-Path) followed by the file from {@code bodyOffset} up to
 * {@code fileSize} (the empty line and the body, exactly as received). The body is streamed
 * from disk, never loaded whole.
 *
 * <p>{@code open}, when present, is the file's channel, already open (a reused scratch file of
 * the listener): it is read with positional reads and left open, and only its first
 * {@code fileSize} bytes belong to this message. Otherwise {@code file} is opened for each
 * {@link #writeTo}.
 */
public record OutboundMessage(byte[] header, Path file, long bodyOffset, long fileSize, Optional<FileChannel> open) {

    public OutboundMessage(byte[] header, Path file, long bodyOffset, long fileSize) {
        this(header, file, bodyOffset, fileSize, Optional.empty());
    }

    /** A message whose body is read from {@code channel}, open, between the two offsets. */
    public static OutboundMessage ofOpenFile(byte[] header, Path file, FileChannel channel, long bodyOffset, long fileSize) {
        return new OutboundMessage(header, file, bodyOffset, fileSize, Optional.of(channel));
    }

    public long size() {
        return header.length + (fileSize - bodyOffset);
    }

    /** A message that is all in {@code bytes} (a DSN the relay wrote itself). */
    public static OutboundMessage inMemory(byte[] bytes) {
        return new OutboundMessage(bytes, null, 0, 0);
    }

    public void writeTo(OutputStream out) throws IOException {
        out.write(header);
        if (open.isPresent()) {
            copy(open.get(), out);
        } else if (file != null) {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                copy(ch, out);
            }
        }
    }

    /** Copies [bodyOffset, fileSize) of {@code ch} with positional reads (its position is left alone). */
    private void copy(FileChannel ch, OutputStream out) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(64 * 1024, Math.max(1, fileSize - bodyOffset)));
        byte[] arr = buf.array();
        long pos = bodyOffset;
        while (pos < fileSize) {
            buf.clear();
            buf.limit((int) Math.min(buf.capacity(), fileSize - pos));
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new IOException("message file " + file + " ends at " + pos + ", before its " + fileSize + " bytes");
            }
            out.write(arr, 0, n);
            pos += n;
        }
    }
}
