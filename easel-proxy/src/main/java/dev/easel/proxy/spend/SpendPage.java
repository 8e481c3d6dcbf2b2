package dev.easel.proxy.spend;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One page of spend rows, newest first.
 *
 * @param rows   the rows
 * @param total  rows matching the filters, all pages
 * @param offset rows skipped (0 on a page read after a cursor)
 * @param limit  page size asked for
 * @param next   the cursor for the next page; empty on the last page
 */
public record SpendPage(List<SpendRecord> rows, long total, long offset, int limit, Optional<SpendCursor> next) {

    /** Copies the list. */
    public SpendPage {
        rows = List.copyOf(rows);
        Objects.requireNonNull(next, "next");
    }
}
