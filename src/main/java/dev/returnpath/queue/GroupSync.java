package dev.returnpath.queue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Group commit of one sync: callers that have written what they need synced wait in
 * {@link #sync}; one thread runs the sync once for every caller waiting and releases them all.
 * Every caller's write happened before it enqueued, so a sync that starts after it covers it.
 */
final class GroupSync {
    interface Action {
        void run() throws IOException;
    }

    private final Action action;
    private final LinkedBlockingQueue<CompletableFuture<Void>> waiting = new LinkedBlockingQueue<>();
    private final Thread thread;
    private final AtomicLong count = new AtomicLong();
    /** Put in the queue by {@link #stop} to wake the thread at once; never completed for anyone. */
    private final CompletableFuture<Void> wake = new CompletableFuture<>();
    private volatile boolean stopped;

    GroupSync(String name, Action action) {
        this.action = action;
        this.thread = Thread.ofPlatform().daemon().name(name).start(this::run);
    }

    void sync() throws IOException {
        CompletableFuture<Void> f = new CompletableFuture<>();
        if (stopped) {
            throw new IOException("spool is closed");
        }
        waiting.add(f);
        try {
            f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the spool's sync");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        }
    }

    private void run() {
        List<CompletableFuture<Void>> batch = new ArrayList<>();
        while (!stopped || !waiting.isEmpty()) {
            try {
                CompletableFuture<Void> first = waiting.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                waiting.drainTo(batch);
                batch.removeIf(f -> f == wake);
                if (batch.isEmpty()) {
                    continue;
                }
                try {
                    action.run();
                    count.incrementAndGet();
                    batch.forEach(f -> f.complete(null));
                } catch (IOException | RuntimeException e) {
                    batch.forEach(f -> f.completeExceptionally(e));
                }
                batch.clear();
            } catch (InterruptedException e) {
                break;
            }
        }
        IOException closed = new IOException("spool is closed");
        CompletableFuture<Void> f;
        while ((f = waiting.poll()) != null) {
            if (f != wake) {
                f.completeExceptionally(closed);
            }
        }
    }

    /** How many syncs ran (fewer than callers when grouped). */
    long count() {
        return count.get();
    }

    void stop() {
        stopped = true;
        waiting.add(wake); // not an interrupt: that would close the file channel a sync is using
        try {
            thread.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
