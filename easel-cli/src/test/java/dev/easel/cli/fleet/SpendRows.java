package dev.easel.cli.fleet;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The spend rows a fleet wrote to its PostgreSQL, and their comparison with what the clients received: every answered
 * request exactly one row, with the id, status, end user and cost the client saw.
 */
public final class SpendRows {

    private SpendRows() {
    }

    /** One row of {@code easel_spend_logs}. */
    public record Row(String requestId, String clientRequestId, String status, int httpStatus, String endUser,
                      Optional<BigDecimal> spend, String errorCode, String deployment, int attempts, long latencyMs,
                      long upstreamMs, long bytesIn) {
    }

    /** Every row whose {@code client_request_id} starts with {@code prefix + "-"}. */
    public static List<Row> read(FleetPostgres pg, String prefix) {
        try (Connection c = pg.connect(); PreparedStatement s = c.prepareStatement("SELECT request_id, "
                + "client_request_id, status, http_status, end_user, spend, error_code, deployment_id, attempts, latency_ms, "
                + "upstream_ms, bytes_in FROM easel_spend_logs "
                + "WHERE client_request_id LIKE ?")) {
            s.setString(1, prefix + "-%");
            List<Row> rows = new ArrayList<>();
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    rows.add(new Row(rs.getString(1), rs.getString(2), rs.getString(3), rs.getInt(4),
                            rs.getString(5), Optional.ofNullable(rs.getBigDecimal(6)), rs.getString(7), rs.getString(8),
                            rs.getInt(9), rs.getLong(10), rs.getLong(11), rs.getLong(12)));
                }
            }
            return rows;
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the spend rows of " + prefix + ": " + e.getMessage(), e);
        }
    }

    /**
     * What the rows say about the requests.
     *
     * @param sent        requests the clients sent
     * @param answered    requests that got an HTTP answer
     * @param unanswered  requests without one (each may or may not have reached a proxy)
     * @param rows        rows found
     * @param lost        answered requests without a row
     * @param doubled     client request ids with more than one row
     * @param unexplained rows of a request no client got an answer for, or never sent
     * @param mismatches  rows that disagree with the answer (Easel's request id, HTTP status, outcome, end user, cost)
     * @param cutOff      extra rows of requests a client sent again after a replica ended the connection without an
     *                    answer (HTTP/1.1 cannot rule that out while a replica closes its connections): the replica
     *                    had refused the request before calling a provider; each such row charged nothing
     */
    public record Reconciliation(int sent, int answered, int unanswered, int rows, List<String> lost,
                                 List<String> doubled, List<String> unexplained, List<String> mismatches,
                                 List<String> cutOff) {

        /** One line for a test log: the figures docs/scaling.md quotes. */
        public String summary() {
            return sent + " requests sent, " + answered + " answered, " + unanswered + " unanswered; " + rows
                    + " spend rows; lost " + lost.size() + ", doubled " + doubled.size() + ", unexplained "
                    + unexplained.size() + ", mismatched " + mismatches.size() + ", cut off and sent again "
                    + cutOff.size();
        }
    }

    /** Compares {@code rows} with the {@code outcomes} of the requests that made them. */
    public static Reconciliation reconcile(List<FleetLoad.Outcome> outcomes, List<Row> rows) {
        Map<String, FleetLoad.Outcome> byId = outcomes.stream()
                .collect(Collectors.toMap(FleetLoad.Outcome::clientRequestId, Function.identity()));
        Map<String, List<Row>> rowsById = new LinkedHashMap<>();
        rows.forEach(r -> rowsById.computeIfAbsent(r.clientRequestId(), k -> new ArrayList<>()).add(r));
        List<String> lost = new ArrayList<>();
        List<String> doubled = new ArrayList<>();
        List<String> unexplained = new ArrayList<>();
        List<String> mismatches = new ArrayList<>();
        int answered = 0;
        List<String> cutOff = new ArrayList<>();
        for (FleetLoad.Outcome o : outcomes) {
            List<Row> mine = rowsById.getOrDefault(o.clientRequestId(), List.of());
            // the row of the answer the client got; a client that moved on after a connection ended without an
            // answer may also have left a row on the replica it left: allowed only for a request refused before any
            // provider was called (a drained replica's 503 racing its connection's close), never for one that
            // reached a provider (that answer was lost) or charged anything
            Row answer = mine.stream().filter(r -> o.requestId().equals(Optional.of(r.requestId()))).findFirst()
                    .orElse(mine.isEmpty() ? null : mine.get(0));
            List<Row> others = mine.stream().filter(r -> r != answer).toList();
            boolean explained = o.answered() && o.refusedConnections() > 0 && others.size() <= o.refusedConnections()
                    && others.stream().allMatch(r -> r.status().equals("failure") && r.attempts() == 0
                    && r.spend().orElse(BigDecimal.ZERO).signum() == 0);
            if (!others.isEmpty() && explained) {
                others.forEach(x -> cutOff.add(o.clientRequestId() + ": " + x));
            } else if (mine.size() > 1) {
                doubled.add(o.clientRequestId() + " has " + mine.size() + " rows: " + mine);
            }
            if (!o.answered()) {
                continue;
            }
            answered++;
            if (mine.isEmpty()) {
                lost.add(o.toString());
                continue;
            }
            Row r = answer;
            List<String> wrong = new ArrayList<>();
            if (!o.requestId().equals(Optional.of(r.requestId()))) {
                wrong.add("request_id " + r.requestId() + " but the answer's x-request-id " + o.requestId());
            }
            if (r.httpStatus() != o.status()) {
                wrong.add("http_status " + r.httpStatus() + " but the client got " + o.status());
            }
            if (!r.status().equals(o.status() == 200 ? "success" : "failure")) {
                wrong.add("status " + r.status() + " for an answer " + o.status());
            }
            // a draining replica refuses an edit (503 server_draining) before it reads the body, where the user
            // field is: that row has no end user
            boolean refusedUnread = o.status() == 503 && r.endUser() == null;
            if (!refusedUnread && !Objects.equals(r.endUser(), o.endUser())) {
                wrong.add("end_user " + r.endUser() + " but the request's user " + o.endUser());
            }
            BigDecimal rowCost = r.spend().orElse(BigDecimal.ZERO);
            BigDecimal toldCost = o.cost().orElse(BigDecimal.ZERO);
            if (rowCost.compareTo(toldCost) != 0) {
                wrong.add("spend " + rowCost + " but x-easel-response-cost " + o.cost());
            }
            if (!wrong.isEmpty()) {
                mismatches.add(o.clientRequestId() + ": " + String.join("; ", wrong));
            }
        }
        Map<String, Boolean> answeredIds = new HashMap<>();
        outcomes.forEach(o -> answeredIds.put(o.clientRequestId(), o.answered()));
        for (String id : rowsById.keySet()) {
            Boolean a = answeredIds.get(id);
            if (a == null) {
                unexplained.add(id + ": no client sent it");
            } else if (!a) {
                unexplained.add(id + ": a row although the client got no answer (" + byId.get(id).failure()
                        .orElse("") + ")");
            }
        }
        return new Reconciliation(outcomes.size(), answered, outcomes.size() - answered, rows.size(), lost, doubled,
                unexplained, mismatches, cutOff);
    }
}
