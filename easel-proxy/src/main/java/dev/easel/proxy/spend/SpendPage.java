package dev.easel.proxy.spend;

import java.util.List;

/**
 * One page of spend rows, newest first.
 *
 * @param rows   the rows
 * @param total  rows matching the filters, all pages
 * @param offset rows skipped
 * @param limit  page size asked for
 */
public record SpendPage(List<SpendRecord> rows, long total, long offset, int limit) {

    /** Copies the list. */
    public SpendPage {
        rows = List.copyOf(rows);
    }
}
