package dev.easel.adapt;

import dev.easel.EaselException;
import dev.easel.ImageResponse;
import dev.easel.Usage;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntFunction;

/**
 * {@code n} images from a model that makes fewer per call: the missing images are split into calls of at most the
 * model's images per call, run in parallel on virtual threads. All or nothing for the client: one failed call fails
 * the request. What was delivered is kept for the rest of the request: a retry or fallback only asks for the images
 * still missing (an image already made is never paid for twice), and a request that fails in the end still reports
 * the cost of the calls that succeeded. One instance per request; thread-safe.
 */
public final class FanOut {

    /**
     * One call's images.
     *
     * @param response     what the provider answered
     * @param cost         what the call cost, or null when unpriced
     * @param deploymentId the deployment that made them
     */
    public record Part(ImageResponse response, BigDecimal cost, String deploymentId) {
    }

    private final int wanted;
    private final List<Part> delivered = new ArrayList<>();
    private int calls;

    /** A fan-out for {@code wanted} images in all. */
    public FanOut(int wanted) {
        this.wanted = wanted;
    }

    /** Images wanted in all. */
    public int wanted() {
        return wanted;
    }

    /** Whether calls are needed beyond one plain call: {@code n} above images per call, or images already made. */
    public synchronized boolean needed(int perCall) {
        return wanted > perCall || !delivered.isEmpty();
    }

    /** Images still missing. */
    public synchronized int missing() {
        int have = delivered.stream().mapToInt(p -> p.response().data().size()).sum();
        return Math.max(0, wanted - have);
    }

    /** {@code count} images in calls of at most {@code perCall}: {@code split(5, 2)} is {@code [2, 2, 1]}. */
    public static List<Integer> split(int count, int perCall) {
        if (perCall < 1) {
            throw new IllegalArgumentException("perCall must be at least 1 (was " + perCall + ")");
        }
        List<Integer> out = new ArrayList<>();
        for (int left = count; left > 0; left -= perCall) {
            out.add(Math.min(left, perCall));
        }
        return out;
    }

    /**
     * Makes the missing images: one {@code call} per split, in parallel; each part is kept as soon as it is made. If a
     * call fails, the others still finish (they are paid for) and the first failure, in split order, is thrown.
     */
    public void run(int perCall, IntFunction<Part> call) {
        List<Integer> split = split(missing(), perCall);
        if (split.size() == 1) {
            keep(call.apply(split.get(0)));
            return;
        }
        List<Future<Part>> futures = new ArrayList<>(split.size());
        try (ExecutorService threads = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("easel-fanout-", 0)
                .factory())) {
            for (int count : split) {
                futures.add(threads.submit(() -> keep(call.apply(count))));
            }
        } // waits for every call
        RuntimeException first = null;
        for (Future<Part> f : futures) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (first == null) {
                    first = e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new EaselException("interrupted while the fanned-out calls ran", 499, "api_error",
                        "client_closed", null, null, null, e);
            }
        }
        if (first != null) {
            throw first;
        }
    }

    private synchronized Part keep(Part p) {
        delivered.add(p);
        calls++;
        return p;
    }

    /** The calls made so far. */
    public synchronized int calls() {
        return calls;
    }

    /** The parts made so far, in the order they arrived. */
    public synchronized List<Part> delivered() {
        return List.copyOf(delivered);
    }

    /** What the delivered calls cost together, or null when none is priced. */
    public synchronized BigDecimal cost() {
        BigDecimal sum = null;
        for (Part p : delivered) {
            if (p.cost() != null) {
                sum = sum == null ? p.cost() : sum.add(p.cost());
            }
        }
        return sum;
    }

    /**
     * One response of every delivered part: images in order, usage added up, the first part's metadata, provider and
     * model of the last part.
     */
    public synchronized ImageResponse combined() {
        if (delivered.isEmpty()) {
            throw new IllegalStateException("nothing was delivered");
        }
        ImageResponse first = delivered.get(0).response();
        ImageResponse last = delivered.get(delivered.size() - 1).response();
        ImageResponse.Builder b = first.toBuilder().data(List.of());
        Usage usage = null;
        BigDecimal charged = null;
        boolean everyCharge = true;
        for (Part p : delivered) {
            p.response().data().forEach(b::addData);
            if (p.response().usage().isPresent()) {
                usage = usage == null ? p.response().usage().get() : add(usage, p.response().usage().get());
            }
            if (p.response().providerCost().isPresent()) {
                charged = charged == null ? p.response().providerCost().get() : charged.add(p.response().providerCost().get());
            } else {
                everyCharge = false;
            }
        }
        last.provider().ifPresent(b::provider);
        last.model().ifPresent(b::model);
        // A charge stands for the whole response only when every call reported one.
        return b.usage(usage).providerCost(everyCharge ? charged : null).cost(null).build();
    }

    static Usage add(Usage a, Usage b) {
        return new Usage(a.inputTokens() + b.inputTokens(), a.outputTokens() + b.outputTokens(),
                a.totalTokens() + b.totalTokens(), a.inputTextTokens() + b.inputTextTokens(),
                a.inputImageTokens() + b.inputImageTokens(), a.outputImageTokens() + b.outputImageTokens(),
                a.outputTextTokens() + b.outputTextTokens(), a.outputDetailsReported() && b.outputDetailsReported());
    }
}
