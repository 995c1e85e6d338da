package dev.returnpath.delivery;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The bytes that go upstream: a new header block ({@code header}: the relay's Received line
 * and the app's fields, minus Return-Path) followed by the spool file from {@code bodyOffset}
 * on (the empty line and the body, exactly as received). The body is streamed from disk, never
 * loaded whole.
 */
public record OutboundMessage(byte[] header, Path file, long bodyOffset, long fileSize) {

    public long size() {
        return header.length + (fileSize - bodyOffset);
    }

    /** A message that is all in {@code bytes} (a DSN the relay wrote itself). */
    public static OutboundMessage inMemory(byte[] bytes) {
        return new OutboundMessage(bytes, null, 0, 0);
    }

    public void writeTo(OutputStream out) throws IOException {
        out.write(header);
        if (file == null) {
            return;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ch.position(bodyOffset);
            ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
            byte[] arr = buf.array();
            int n;
            while ((n = ch.read(buf)) > 0) {
                out.write(arr, 0, n);
                buf.clear();
            }
        }
    }
}
