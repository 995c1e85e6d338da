package dev.returnpath.queue;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Semaphore;

/**
 * The permits per key (a next hop with its permit count) that bound deliveries in flight, kept
 * only while someone uses them: a key's semaphore is made by the first {@link #acquire} and
 * dropped when its last holder or waiter {@linkplain #release releases}. With direct delivery
 * every recipient domain is a next hop, so a map that kept each one would grow for as long as
 * the relay runs. A holder is counted from before it waits until after it releases, so no key
 * ever has two semaphores at once and the bound is exact. Thread-safe.
 *
 * @param <K> the key; its permit count comes with it
 */
final class HopPermits<K> {
    private static final class Slot {
        final Semaphore permits;
        int users;

        Slot(int permits) {
            this.permits = new Semaphore(permits);
        }
    }

    private final Map<K, Slot> slots = new HashMap<>();

    /** Waits for one of {@code permits} for {@code key}; every return is paired with one {@link #release}. */
    void acquire(K key, int permits) throws InterruptedException {
        Slot slot;
        synchronized (this) {
            slot = slots.computeIfAbsent(key, k -> new Slot(permits));
            slot.users++;
        }
        try {
            slot.permits.acquire();
        } catch (InterruptedException e) {
            leave(key, slot);
            throw e;
        }
    }

    /** Gives back the permit an {@link #acquire} of {@code key} took. */
    void release(K key) {
        Slot slot;
        synchronized (this) {
            slot = slots.get(key);
        }
        if (slot == null) {
            throw new IllegalStateException("release without acquire: " + key);
        }
        slot.permits.release();
        leave(key, slot);
    }

    private synchronized void leave(K key, Slot slot) {
        if (--slot.users == 0) {
            slots.remove(key, slot);
        }
    }

    /** The keys held or waited for now. */
    synchronized int size() {
        return slots.size();
    }
}
