package dev.easel.proxy;

import dev.easel.Usage;
import dev.easel.callback.EditLogRecord;
import dev.easel.proxy.spend.SpendRecord;

/** Maps the standard record of an edit to its spend-log row. */
final class SpendRecords {

    private SpendRecords() {
    }

    static SpendRecord of(EditLogRecord r) {
        Usage u = r.usage();
        return SpendRecord.builder()
                .requestId(r.requestId())
                .startTime(r.startTime())
                .endTime(r.endTime())
                .modelGroup(r.modelGroup() != null ? r.modelGroup() : r.model())
                .deploymentId(r.deploymentId())
                .provider(r.provider())
                .model(r.providerModel())
                .endUser(r.endUser())
                .keyHash(r.keyHash())
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
}
