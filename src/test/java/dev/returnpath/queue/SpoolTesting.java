package dev.returnpath.queue;

import java.time.Duration;

/** Package-private hooks of the queue, for tests in other packages. */
public final class SpoolTesting {
    private SpoolTesting() {}

    /** Waits until no attempt runs and none is due at the runner's clock. */
    public static boolean idle(QueueRunner runner, Duration timeout) throws InterruptedException {
        return runner.idle(timeout);
    }
}
