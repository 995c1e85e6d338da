package dev.returnpath.delivery;

import dev.returnpath.message.MessageBytes;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * The bytes that go upstream: a new header block ({@code header}: the relay's Received line
 * and the app's fields, minus Return-Path) followed by the message's bytes from
 * {@code bodyOffset} up to {@code fileSize} (the empty line and the body, exactly as received).
 * A large body is streamed from disk, never loaded whole.
 *
 * <p>{@code open}, when present, is where the received message lies now (the listener's buffer,
 * or its reused scratch file, open): it is read with positional reads, and only its first
 * {@code fileSize} bytes belong to this message. Otherwise {@code file} is opened for each
 * {@link #writeTo}.
 */
public record OutboundMessage(byte[] header, Path file, long bodyOffset, long fileSize, Optional<MessageBytes> open) {

    public OutboundMessage(byte[] header, Path file, long bodyOffset, long fileSize) {
        this(header, file, bodyOffset, fileSize, Optional.empty());
    }

    /** A message whose body is read from {@code channel}, open, between the two offsets. */
    public static OutboundMessage ofOpenFile(byte[] header, Path file, FileChannel channel, long bodyOffset, long fileSize) {
        return new OutboundMessage(header, file, bodyOffset, fileSize, Optional.of(new MessageBytes.InFile(file, channel)));
    }

    /** A message whose body is bytes {@code [bodyOffset, size)} of {@code bytes}. */
    public static OutboundMessage of(byte[] header, MessageBytes bytes, long bodyOffset, long size) {
        Path file = bytes instanceof MessageBytes.InFile f ? f.file() : null;
        return new OutboundMessage(header, file, bodyOffset, size, Optional.of(bytes));
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
            open.get().copyTo(out, bodyOffset, fileSize);
        } else if (file != null) {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                new MessageBytes.InFile(file, ch).copyTo(out, bodyOffset, fileSize);
            }
        }
    }
}
