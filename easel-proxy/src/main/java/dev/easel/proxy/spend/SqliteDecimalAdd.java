package dev.easel.proxy.spend;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.SQLException;
import org.sqlite.Function;

/**
 * {@code easel_decimal_add(a, b)}: the exact sum of two decimal texts for SQLite, whose {@code +} goes through
 * doubles; a NULL counts as 0. The counter upserts use it, so an increment is one statement inside the write
 * transaction (SQLite has one writer at a time: the read and the write of the old value cannot interleave).
 */
final class SqliteDecimalAdd extends Function {

    private static final int SQLITE_NULL = 5;

    static void register(Connection c) throws SQLException {
        Function.create(c, "easel_decimal_add", new SqliteDecimalAdd(), 2, Function.FLAG_DETERMINISTIC);
    }

    @Override
    protected void xFunc() throws SQLException {
        BigDecimal sum = BigDecimal.ZERO;
        for (int i = 0; i < 2; i++) {
            if (value_type(i) == SQLITE_NULL) {
                continue;
            }
            String text = value_text(i);
            try {
                sum = sum.add(new BigDecimal(text.strip()));
            } catch (NumberFormatException e) {
                error("easel_decimal_add: not a decimal number: '" + text + "'");
                return;
            }
        }
        result(sum.toPlainString());
    }
}
