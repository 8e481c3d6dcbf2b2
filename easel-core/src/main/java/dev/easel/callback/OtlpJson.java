package dev.easel.callback;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.util.List;
import java.util.Map;

/**
 * The OTLP/JSON encoding of an {@code ExportTraceServiceRequest}: the protobuf JSON mapping with OTLP's
 * deviations (lowerCamelCase keys, trace and span ids as hex rather than base64, enums as integers, 64-bit
 * integers as decimal strings).
 */
final class OtlpJson {

    private static final ObjectMapper JSON = new ObjectMapper();

    private OtlpJson() {
    }

    /** One request body holding {@code spans} of one resource and one instrumentation scope. */
    static byte[] encode(Map<String, Object> resource, String scopeName, String scopeVersion, List<OtlpSpan> spans) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode rs = root.putArray("resourceSpans").addObject();
        attributes(rs.putObject("resource"), resource);
        ObjectNode ss = rs.putArray("scopeSpans").addObject();
        ObjectNode scope = ss.putObject("scope");
        scope.put("name", scopeName);
        if (scopeVersion != null) {
            scope.put("version", scopeVersion);
        }
        ArrayNode out = ss.putArray("spans");
        for (OtlpSpan s : spans) {
            ObjectNode n = out.addObject();
            n.put("traceId", s.traceId());
            n.put("spanId", s.spanId());
            if (s.parentSpanId() != null) {
                n.put("parentSpanId", s.parentSpanId());
            }
            n.put("name", s.name());
            n.put("kind", s.kind());
            n.put("startTimeUnixNano", Long.toString(OtlpSpan.nanos(s.start())));
            n.put("endTimeUnixNano", Long.toString(OtlpSpan.nanos(s.end())));
            attributes(n, s.attributes());
            ObjectNode status = n.putObject("status");
            status.put("code", s.ok() ? OtlpSpan.STATUS_OK : OtlpSpan.STATUS_ERROR);
            if (s.statusMessage() != null) {
                status.put("message", s.statusMessage());
            }
        }
        try {
            return JSON.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode spans as json", e);
        }
    }

    private static void attributes(ObjectNode parent, Map<String, Object> attributes) {
        ArrayNode list = parent.putArray("attributes");
        attributes.forEach((key, value) -> {
            ObjectNode kv = list.addObject();
            kv.put("key", key);
            ObjectNode v = kv.putObject("value");
            switch (value) {
                case Boolean b -> v.put("boolValue", b);
                case Integer i -> v.put("intValue", Long.toString(i));
                case Long l -> v.put("intValue", Long.toString(l));
                case Double d -> v.put("doubleValue", d);
                case BigDecimal d -> v.put("doubleValue", d.doubleValue());
                default -> v.put("stringValue", String.valueOf(value));
            }
        });
    }
}
