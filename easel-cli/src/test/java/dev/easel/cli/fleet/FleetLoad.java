package dev.easel.cli.fleet;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.Headers;
import com.openai.core.http.HttpResponseFor;
import com.openai.errors.OpenAIIoException;
import com.openai.errors.OpenAIServiceException;
import com.openai.models.images.ImageEditParams;
import com.openai.models.images.ImagesResponse;
import dev.easel.testkit.Await;
import java.math.BigDecimal;
import java.net.ConnectException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * Concurrent image edits on a {@link Fleet} through OpenAI's official Java client ({@code openai-java}), spread
 * round robin over the replicas the way a load balancer spreads them: request {@code i} goes to replica
 * {@code i mod n}, and when that replica refuses the connection (stopped, restarting) to the next one, with the same
 * request id (a refused connection never reached a proxy, so this cannot double anything).
 *
 * <p>Each request carries its own {@code x-request-id} ({@code <prefix>-<i>}), which the proxy stores beside its
 * own id as the spend row's {@code client_request_id}; every {@link Outcome} keeps what the client got back, so
 * the spend rows can be compared with it request by request ({@link SpendRows#reconcile}). The load is bounded in
 * count and time and stops by itself.
 */
public final class FleetLoad implements AutoCloseable {

    /** One request and what the client got. */
    public record Outcome(String clientRequestId, String model, String endUser, int replica, long sentNanos,
                          long doneNanos, int status, Optional<String> requestId, Optional<BigDecimal> cost,
                          int refusedConnections, Optional<String> failure) {

        /** Whether an HTTP answer arrived (any status). */
        public boolean answered() {
            return status > 0;
        }

        /** Whether it was sent before {@code nanos} and answered after it (in flight at that moment). */
        public boolean inFlightAt(long nanos) {
            return answered() && sentNanos < nanos && doneNanos > nanos;
        }
    }

    private final Fleet fleet;
    private final String prefix;
    private final List<String> models;
    private final byte[] image;
    private final int maxRequests;
    private final long deadline;
    private final List<OpenAIClient> clients = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final AtomicLong next = new AtomicLong();
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final ConcurrentLinkedQueue<Outcome> outcomes = new ConcurrentLinkedQueue<>();

    private FleetLoad(Builder b) {
        this.fleet = b.fleet;
        this.prefix = b.prefix;
        this.models = List.copyOf(b.models);
        this.image = b.image.clone();
        this.maxRequests = b.maxRequests;
        this.deadline = System.nanoTime() + b.maxDuration.toNanos();
        for (Replica r : fleet.replicas()) {
            clients.add(OpenAIOkHttpClient.builder().baseUrl(r.baseUri() + "/v1").apiKey(Fleet.MASTER_KEY)
                    .maxRetries(0).timeout(Duration.ofSeconds(60)).build());
        }
        for (int c = 0; c < b.clients; c++) {
            threads.add(Thread.ofPlatform().daemon().name(prefix + "-client-" + c).unstarted(this::run));
        }
    }

    /** A load on {@code fleet}; every request id starts with {@code prefix}. */
    public static Builder builder(Fleet fleet, String prefix) {
        return new Builder(fleet, prefix);
    }

    private void run() {
        while (!stopping.get() && System.nanoTime() < deadline) {
            long i = next.getAndIncrement();
            if (i >= maxRequests) {
                return;
            }
            outcomes.add(send(i));
        }
    }

    private Outcome send(long i) {
        String id = prefix + "-" + i;
        String model = models.get((int) (i % models.size()));
        String endUser = prefix + "-user-" + (i % 4);
        int n = fleet.size();
        int refused = 0;
        long sent = System.nanoTime();
        for (int attempt = 0; attempt < n; attempt++) {
            int replica = (int) ((i + attempt) % n);
            // params of their own for every attempt: openai-java reads image(byte[]) through an InputStream, which
            // the attempt before consumed (a retry with the same params sent an empty image and got a 400)
            ImageEditParams params = ImageEditParams.builder().image(image).prompt("add a hat").model(model)
                    .user(endUser).putAdditionalHeader("x-request-id", id).build();
            sent = System.nanoTime();
            try (HttpResponseFor<ImagesResponse> r = clients.get(replica).images().withRawResponse().edit(params)) {
                Optional<String> problem = Optional.empty();
                try {
                    ImagesResponse body = r.parse();
                    if (body.data().orElse(List.of()).isEmpty()) {
                        problem = Optional.of("a 200 without images");
                    }
                } catch (RuntimeException e) {
                    problem = Optional.of("unreadable 200: " + e);
                }
                return new Outcome(id, model, endUser, replica, sent, System.nanoTime(), r.statusCode(),
                        header(r.headers(), "x-request-id"), header(r.headers(), "x-easel-response-cost")
                        .map(BigDecimal::new), refused, problem.or(() -> echoProblem(r.headers(), id)));
            } catch (OpenAIServiceException e) {
                return new Outcome(id, model, endUser, replica, sent, System.nanoTime(), e.statusCode(),
                        header(e.headers(), "x-request-id"), header(e.headers(), "x-easel-response-cost")
                        .map(BigDecimal::new), refused, echoProblem(e.headers(), id));
            } catch (OpenAIIoException e) {
                // HTTP/1.1 cannot stop a client from writing a request onto a kept-alive connection the server is
                // closing (a stopping replica closes its idle ones): the connection ends with no answer at all. Such
                // a request goes to the next replica with the same id, as clients retry it; had the first replica
                // processed it after all, its two spend rows would fail the "doubled" check
                if (!refusedConnection(e) && !closedWithoutAnswer(e)) {
                    // the request may have reached a proxy: sending it again could double it, so it ends here
                    return new Outcome(id, model, endUser, replica, sent, System.nanoTime(), 0, Optional.empty(),
                            Optional.empty(), refused, Optional.of("no answer: " + rootCause(e)));
                }
                refused++;
            }
        }
        return new Outcome(id, model, endUser, (int) (i % n), sent, System.nanoTime(), 0, Optional.empty(),
                Optional.empty(), refused, Optional.of("every replica refused the connection"));
    }

    /** The proxy echoes the caller's id as {@code x-client-request-id}; rows are matched by it. */
    private static Optional<String> echoProblem(Headers headers, String id) {
        Optional<String> echoed = header(headers, "x-client-request-id");
        return echoed.equals(Optional.of(id)) ? Optional.empty()
                : Optional.of("x-client-request-id was " + echoed + ", not " + id);
    }

    private static Optional<String> header(Headers headers, String name) {
        List<String> values = headers.values(name);
        return values.isEmpty() ? Optional.empty() : Optional.of(values.get(0));
    }

    private static boolean refusedConnection(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ConnectException) {
                return true;
            }
        }
        return false;
    }

    /**
     * The connection ended before any byte of an answer: OkHttp's EOF reading the status line when the server closed
     * it, or a reset when the server closed it with the request unread in its socket (the kernel then answers with
     * RST, not FIN: the same race, seen in a CI run as {@code SocketException: Connection reset}).
     */
    private static boolean closedWithoutAnswer(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.io.EOFException && String.valueOf(t.getMessage()).startsWith("\\n not found")) {
                return true;
            }
            if (t instanceof java.net.SocketException && "Connection reset".equals(t.getMessage())) {
                return true;
            }
        }
        return false;
    }

    private static String rootCause(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.toString();
    }

    /** What has been sent so far (finished requests only), in no particular order. */
    public List<Outcome> outcomes() {
        return List.copyOf(outcomes);
    }

    /** How many finished requests match {@code which}. */
    public long count(Predicate<Outcome> which) {
        return outcomes.stream().filter(which).count();
    }

    /**
     * Waits until {@code count} finished requests match {@code which}.
     *
     * @throws AssertionError naming {@code what} (with the fleet's state) when they do not in time, or the load
     *                        ended first
     */
    public void await(String what, Predicate<Outcome> which, long count, Duration timeout) {
        try {
            Await.value(what, timeout, () -> count(which), c -> c >= count || !running());
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n" + fleet.describe(), e);
        }
        if (count(which) < count) {
            throw new AssertionError("the load ended (request or time bound) before " + what + ": "
                    + count(which) + " of " + count + "\n" + fleet.describe());
        }
    }

    /** Whether any client is still sending. */
    public boolean running() {
        return threads.stream().anyMatch(Thread::isAlive);
    }

    /** Starts the clients. */
    FleetLoad start() {
        threads.forEach(Thread::start);
        return this;
    }

    /**
     * Stops starting requests and waits for those in flight to finish; returns every outcome.
     *
     * @throws AssertionError when a client is still waiting for an answer a minute later
     */
    public List<Outcome> stop() {
        stopping.set(true);
        for (Thread t : threads) {
            try {
                t.join(Duration.ofSeconds(60));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted stopping the load", e);
            }
            if (t.isAlive()) {
                throw new AssertionError(t.getName() + " still waits for an answer a minute after the load stopped\n"
                        + fleet.describe());
            }
        }
        return outcomes();
    }

    @Override
    public void close() {
        stopping.set(true);
        clients.forEach(OpenAIClient::close);
    }

    /** How a load is shaped. */
    public static final class Builder {
        private final Fleet fleet;
        private final String prefix;
        private final List<String> models = new ArrayList<>();
        private int clients = 6;
        private byte[] image;
        private int maxRequests = 50_000;
        private Duration maxDuration = Duration.ofMinutes(4);

        private Builder(Fleet fleet, String prefix) {
            this.fleet = Objects.requireNonNull(fleet, "fleet");
            if (!prefix.matches("[a-z0-9-]+")) {
                throw new IllegalArgumentException("prefix must be lowercase letters, digits and '-' (was '"
                        + prefix + "')");
            }
            this.prefix = prefix;
        }

        /** Concurrent clients (threads), each sending one request after the other (default 6). */
        public Builder clients(int n) {
            this.clients = n;
            return this;
        }

        /**
         * The rotation of model groups: request {@code i} asks for the group at {@code i mod k} of the {@code k}
         * given ({@code "edit", "edit", "refused"}: two of three to {@code edit}).
         */
        public Builder models(String... rotation) {
            models.addAll(List.of(rotation));
            return this;
        }

        /** The image every request edits. */
        public Builder image(byte[] png) {
            this.image = png;
            return this;
        }

        /** Bounds: at most this many requests ... */
        public Builder maxRequests(int n) {
            this.maxRequests = n;
            return this;
        }

        /** ... and no new request after this long. */
        public Builder maxDuration(Duration d) {
            this.maxDuration = d;
            return this;
        }

        /** Starts the clients. */
        public FleetLoad start() {
            if (models.isEmpty() || image == null) {
                throw new IllegalStateException("a load needs models(...) and image(...)");
            }
            return new FleetLoad(this).start();
        }
    }
}
