package dev.easel.provider.bfl;

import dev.easel.AuthenticationException;
import dev.easel.BadRequestException;
import dev.easel.ImageData;
import dev.easel.ImageEditStream;
import dev.easel.ImageResponse;
import dev.easel.http.HttpTransport;
import dev.easel.http.JsonBody;
import dev.easel.image.ImageInfo;
import dev.easel.image.ImageInspectionException;
import dev.easel.image.ImageInspector;
import dev.easel.internal.Blob;
import dev.easel.provider.EditCall;
import dev.easel.provider.ImageEditProvider;
import dev.easel.provider.JobRunner;
import dev.easel.provider.ProviderContext;
import java.net.URI;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Black Forest Labs' FLUX editing endpoints, as jobs through the platform's {@link JobRunner}: {@code POST
 * {api_base}/v1/<model>} with {@code x-key} once, then {@code GET polling_url} (only on an https bfl.ai host or the
 * api_base host) until {@code Ready}, then {@code result.sample} downloaded through the guarded downloader (hosts
 * {@code *.bfl.ai} and the api_base host). The body is {@link BflRequest}'s, the answers and errors
 * {@link BflProtocol}'s. One image per job; the platform fans {@code n} out.
 */
final class BflProvider implements ImageEditProvider {

    /** BFL's global endpoint; {@code https://api.eu.bfl.ai} and {@code https://api.us.bfl.ai} work as api_base. */
    static final URI DEFAULT_BASE = URI.create("https://api.bfl.ai");

    /** Where BFL delivers results (its signed {@code delivery-*.bfl.ai} URLs). */
    static final Set<String> RESULT_HOSTS = Set.of(".bfl.ai");

    /** BFL suggests polling every 0.5 to 2 s; a {@code Retry-After} on a pending poll replaces the next wait. */
    static final JobRunner.Backoff BACKOFF = new JobRunner.Backoff(Duration.ofMillis(500), Duration.ofSeconds(4),
            1.5);

    /** Longest wait for one poll's answer (never past the call's deadline). */
    static final Duration MAX_POLL_WAIT = Duration.ofSeconds(30);

    private static final Pattern MODEL = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    private final ProviderContext ctx;

    BflProvider(ProviderContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public String name() {
        return BflProtocol.PROVIDER;
    }

    @Override
    public ImageResponse edit(EditCall call) {
        String model = call.deployment().model();
        if (call.stream()) {
            throw new BadRequestException("The model '" + model + "' does not support streaming.",
                    "unsupported_parameter", "stream");
        }
        BflRequest.Family family = BflRequest.Family.of(model).filter(f -> MODEL.matcher(model).matches())
                .orElseThrow(() -> new BadRequestException("Black Forest Labs model '" + model + "' is not one Easel "
                        + "can call: it serves flux-kontext-*, flux-2-*, flux-pro-1.0-fill* and flux-pro-1.0-expand*.",
                        "model_not_found", "model"));
        String key = call.deployment().key().filter(k -> !k.isBlank()).orElseThrow(() -> new AuthenticationException(
                "no api key for black_forest_labs: set api_key (e.g. os.environ/BFL_API_KEY)", "missing_api_key",
                null));
        URI base = call.deployment().base().orElse(DEFAULT_BASE);
        Job job = new Job(call, key, base, BflRequest.body(call, family), ctx.clock().instant().plus(call.timeout()));
        JobRunner.Result result = ctx.jobs().run(call, job);
        return response(call, result, job);
    }

    @Override
    public ImageEditStream editStream(EditCall call) {
        throw new BadRequestException("The model '" + call.deployment().model() + "' does not support streaming.",
                "unsupported_parameter", "stream");
    }

    private ImageResponse response(EditCall call, JobRunner.Result result, Job job) {
        byte[] image = result.images().get(0);
        ImageInfo info;
        try {
            info = ImageInspector.inspect(Blob.ofBytes(image));
        } catch (ImageInspectionException e) {
            throw BflProtocol.garbage("a result that is not an image (" + e.getMessage() + ") for job "
                    + result.jobId(), null).forJob(result.jobId());
        }
        // BFL rewrites the prompt with prompt_upsampling: OpenAI's revised_prompt says what was used
        String revised = job.resultPrompt != null && !job.resultPrompt.equals(call.prompt()) ? job.resultPrompt : null;
        ImageResponse.Builder b = ImageResponse.builder().provider(name()).model(call.deployment().model())
                .created(ctx.clock().instant().getEpochSecond())
                .size(info.width() + "x" + info.height()).outputFormat(info.format().wireName())
                .addData(ImageData.ofBase64Ascii(Base64.getEncoder().encode(image), null, revised));
        // the submit answer's cost is in credits of $0.01: what BFL charged, ahead of the catalogue's table
        job.submitted.credits().ifPresent(c -> b.providerCost(c.movePointLeft(2).stripTrailingZeros()));
        return b.build();
    }

    /** One submission and its polls. */
    private final class Job implements JobRunner.Job<BflProtocol.Submitted> {
        private final EditCall call;
        private final String key;
        private final URI base;
        private final JsonBody body;
        private final Instant deadline;
        private volatile BflProtocol.Submitted submitted;
        private volatile String resultPrompt;

        Job(EditCall call, String key, URI base, JsonBody body, Instant deadline) {
            this.call = call;
            this.key = key;
            this.base = base;
            this.body = body;
            this.deadline = deadline;
        }

        @Override
        public BflProtocol.Submitted submit() {
            URI url = URI.create(BflProtocol.strip(base.toString()) + "/v1/" + call.deployment().model());
            HttpRequest.Builder r = headers(HttpRequest.newBuilder(url)).header("Content-Type", "application/json");
            var answer = ctx.transport().send(r, body.publisher(), call.timeout(), name());
            submitted = BflProtocol.submitted(answer, base, key);
            return submitted;
        }

        @Override
        public String id(BflProtocol.Submitted s) {
            return s.id();
        }

        @Override
        public JobRunner.Poll poll(BflProtocol.Submitted s) {
            Duration left = Duration.between(ctx.clock().instant(), deadline);
            Duration wait = left.compareTo(MAX_POLL_WAIT) > 0 ? MAX_POLL_WAIT
                    : left.compareTo(Duration.ofMillis(100)) < 0 ? Duration.ofMillis(100) : left;
            var answer = ctx.transport().get(headers(HttpRequest.newBuilder(s.pollingUrl())), wait, name()).await();
            BflProtocol.Polled polled = BflProtocol.poll(answer, s.id(), key);
            if (polled.prompt() != null) {
                resultPrompt = polled.prompt();
            }
            return polled.poll();
        }

        @Override
        public JobRunner.Backoff backoff() {
            return BACKOFF;
        }

        @Override
        public Set<String> resultHosts() {
            return RESULT_HOSTS;
        }

        private HttpRequest.Builder headers(HttpRequest.Builder b) {
            call.headers().forEach((k, v) -> {
                if (HttpTransport.forwardable(k) && !k.equalsIgnoreCase("x-key")) {
                    b.setHeader(k, v);
                }
            });
            return b.setHeader("x-key", key).setHeader("Accept", "application/json").setHeader("User-Agent",
                    "easel/0.1");
        }
    }
}
