package dev.returnpath.delivery;

import dev.returnpath.delivery.DeliveryOutcome.RecipientOutcome;
import dev.returnpath.delivery.DeliveryOutcome.Status;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.function.Function;

/**
 * Delivers the legs of one message ({@link Router#route}): one leg on the caller's thread,
 * several at the same time (one slow or failing domain does not hold the others back), and
 * the recipients' outcomes put back in the envelope's order.
 */
final class Legs {
    private Legs() {}

    static List<RecipientOutcome> deliver(List<Router.Leg> legs, Envelope envelope, ExecutorService executor,
                                          Function<Router.Leg, List<RecipientOutcome>> one) {
        if (legs.size() == 1) {
            return inOrder(envelope, List.of(one.apply(legs.get(0))));
        }
        List<Future<List<RecipientOutcome>>> running = new ArrayList<>(legs.size());
        for (Router.Leg leg : legs) {
            running.add(executor.submit(() -> one.apply(leg)));
        }
        List<List<RecipientOutcome>> got = new ArrayList<>(legs.size());
        for (int i = 0; i < legs.size(); i++) {
            try {
                got.add(running.get(i).get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                got.add(deferredAll(legs.get(i).forwardPaths(), "interrupted"));
            } catch (ExecutionException e) {
                got.add(deferredAll(legs.get(i).forwardPaths(), "internal error: " + e.getCause()));
            }
        }
        return inOrder(envelope, got);
    }

    /** The outcomes in the order of the envelope's forward paths (a leg keeps its recipients' order). */
    private static List<RecipientOutcome> inOrder(Envelope envelope, List<List<RecipientOutcome>> legs) {
        Map<String, Deque<RecipientOutcome>> byRecipient = new HashMap<>();
        for (List<RecipientOutcome> leg : legs) {
            for (RecipientOutcome o : leg) {
                byRecipient.computeIfAbsent(o.recipient(), k -> new ArrayDeque<>()).add(o);
            }
        }
        List<RecipientOutcome> out = new ArrayList<>(envelope.forwardPaths().size());
        for (String r : envelope.forwardPaths()) {
            Deque<RecipientOutcome> d = byRecipient.get(r);
            out.add(d == null || d.isEmpty() ? deferredAll(List.of(r), "internal error: no outcome").get(0) : d.poll());
        }
        return out;
    }

    private static List<RecipientOutcome> deferredAll(List<String> rcpts, String why) {
        Reply r = Reply.of(451, "4.3.0", why);
        return rcpts.stream().map(x -> new RecipientOutcome(x, Status.DEFERRED, r, false, "none")).toList();
    }
}
