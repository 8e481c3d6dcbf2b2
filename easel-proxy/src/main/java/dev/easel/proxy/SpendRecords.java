package dev.easel.proxy;

import dev.easel.Usage;
import dev.easel.callback.EditLogRecord;
import dev.easel.proxy.spend.SpendRecord;
import java.net.URI;
import java.util.Optional;
import java.util.function.Function;

/** Maps the standard record of an edit to its spend-log row. */
final class SpendRecords {

    private SpendRecords() {
    }

    /** {@code apiBases} gives a deployment's configured base URL by its id (for {@code api_base}). */
    static SpendRecord of(EditLogRecord r, Function<String, Optional<URI>> apiBases) {
        Usage u = r.usage();
        return SpendRecord.builder()
                .requestId(r.requestId())
                .clientRequestId(r.clientRequestId())
                .startTime(r.startTime())
                .endTime(r.endTime())
                .modelGroup(r.modelGroup() != null ? r.modelGroup() : r.model())
                .deploymentId(r.deploymentId())
                .provider(r.provider())
                .model(r.providerModel())
                .apiBase(r.deploymentId() == null ? null : apiBases.apply(r.deploymentId())
                        .map(SpendRecords::withoutCredentials).orElse(null))
                .endUser(r.endUser())
                .keyHash(r.keyHash())
                .keyAlias(r.keyAlias())
                .teamId(r.teamId())
                .userId(r.userId())
                .status(r.success() ? "success" : "failure")
                .httpStatus(r.httpStatus())
                .errorType(r.errorType())
                .errorCode(r.errorCode())
                .spend(r.cost())
                .promptTokens(u == null ? 0 : u.inputTokens())
                .completionTokens(u == null ? 0 : u.outputTokens())
                .totalTokens(u == null ? 0 : u.totalTokens())
                .inputTextTokens(u == null ? 0 : u.inputTextTokens())
                .inputImageTokens(u == null ? 0 : u.inputImageTokens())
                .outputImageTokens(u == null ? 0 : u.outputImageTokens())
                .outputTextTokens(u == null ? 0 : u.outputTextTokens())
                .imagesIn(r.imagesIn().size())
                .imagesOut(r.imagesOut())
                .bytesIn(r.bytesIn())
                .bytesOut(r.bytesOut())
                .latencyMs(r.latencyMs())
                .upstreamMs(r.upstreamMs())
                .attempts(r.attempts().size())
                .fallbackUsed(r.fallbacks() > 0)
                .build();
    }

    /** The URL without user info, query or fragment: never a credential in the spend log. */
    static String withoutCredentials(URI uri) {
        try {
            return new URI(uri.getScheme(), null, uri.getHost(), uri.getPort(), uri.getPath(), null, null).toString();
        } catch (java.net.URISyntaxException | RuntimeException e) {
            return null;
        }
    }
}
