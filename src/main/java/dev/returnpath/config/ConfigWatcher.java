package dev.returnpath.config;

import dev.returnpath.ops.MailEvent;
import dev.returnpath.ops.MailLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;

/**
 * Hot reload for {@code serve}: watches the configuration file and swaps a valid new
 * configuration into the {@link ConfigHolder}; transactions that began before keep the tree
 * they took at MAIL.
 *
 * <p>It polls the file's <em>content</em> (a SHA-256 of its bytes), not a directory event or a
 * modification time, because the three ways a file changes look different to those and the same
 * to this: written in place, replaced by a rename (editors, {@code sed -i}), or swapped through a
 * symlink (a Kubernetes ConfigMap volume renames its {@code ..data} link to a new directory, and
 * neither the file's own name nor its directory entry changes). Reading the path follows the
 * links every time. A few kilobytes read once a second cost nothing.
 *
 * <p>New content is acted on once it has been the same for two polls in a row, so that a file
 * caught half-written is not reported as broken. A configuration that does not load changes
 * nothing and is logged once, with file, line and key; the next change is tried again. Only the
 * file itself is watched: HOCON {@code include}s and environment variables are read again at
 * each reload, but a change to them alone does not start one.
 */
public final class ConfigWatcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("returnpath.config");

    /** What one {@link #poll()} found. */
    public sealed interface Outcome {
        record Unchanged() implements Outcome {}

        /** New content, seen once: acted on at the next poll if it is still the same. */
        record Settling() implements Outcome {}

        record Reloaded(RelayConfig config, ConfigDiff diff) implements Outcome {}

        record Invalid(ConfigException error) implements Outcome {}

        record Unreadable(String problem) implements Outcome {}
    }

    private final Path file;
    private final ConfigHolder holder;
    private byte[] attempted;        // the content last loaded, or last refused
    private byte[] pending;          // new content seen at the previous poll
    private String unreadable;       // the problem already logged, so it is logged once
    private volatile Thread thread;

    /**
     * @param loadedDigest {@link #digest} of the file taken before the configuration in force was
     *                     loaded from it (so that an edit made in between is not missed); empty
     *                     to load whatever is there at the first stable poll
     */
    public ConfigWatcher(Path file, ConfigHolder holder, Optional<byte[]> loadedDigest) {
        this.file = file;
        this.holder = holder;
        this.attempted = loadedDigest.orElse(null);
    }

    public static byte[] digest(Path file) throws IOException {
        try {
            return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    /** One check; called by the watcher thread every interval, and directly by tests. */
    public synchronized Outcome poll() {
        byte[] d;
        try {
            d = digest(file);
        } catch (IOException e) {
            String problem = file + ": cannot read: " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : " " + e.getMessage());
            if (!problem.equals(unreadable)) {
                log.warn("config reload: {}; the configuration in force is unchanged", problem);
                unreadable = problem;
            }
            pending = null;
            return new Outcome.Unreadable(problem);
        }
        unreadable = null;
        if (Arrays.equals(d, attempted)) {
            pending = null;
            return new Outcome.Unchanged();
        }
        if (!Arrays.equals(d, pending)) {
            pending = d;
            return new Outcome.Settling();
        }
        pending = null;
        attempted = d;
        RelayConfig next;
        try {
            next = ConfigLoader.load(file);
        } catch (ConfigException e) {
            log.error("config reload refused, the configuration in force is unchanged: {}", e.getMessage());
            return new Outcome.Invalid(e);
        }
        RelayConfig before = holder.swap(next);
        ConfigDiff diff = ConfigDiff.between(before, next);
        MailLog.log(new MailEvent.Reload(file.toString(), diff.summary(), !diff.restartNeeded().isEmpty()));
        return new Outcome.Reloaded(next, diff);
    }

    /** Polls every {@code interval} on a daemon thread until {@link #close()}. */
    public void start(Duration interval) {
        Thread t = Thread.ofPlatform().daemon().name("config-watcher").unstarted(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    Thread.sleep(interval);
                } catch (InterruptedException e) {
                    return;
                }
                try {
                    poll();
                } catch (RuntimeException e) {
                    // a bug must not stop hot reload for good; say it and keep watching
                    log.error("config reload: unexpected error", e);
                }
            }
        });
        thread = t;
        t.start();
    }

    @Override
    public void close() {
        Thread t = thread;
        if (t != null) {
            t.interrupt();
        }
    }
}
