package dev.easel.proxy.spend;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.SQLException;
import org.sqlite.Function;

/**
 * {@code easel_decimal_sum(x)}: an exact SUM over decimal text for SQLite, whose own SUM goes through doubles.
 * NULLs are skipped; the sum of nothing is {@code 0}. sqlite-jdbc clones the prototype for each group.
 */
final class SqliteDecimalSum extends Function.Aggregate {

    private static final int SQLITE_NULL = 5;

    private BigDecimal sum = BigDecimal.ZERO;

    static void register(Connection c) throws SQLException {
        Function.create(c, "easel_decimal_sum", new SqliteDecimalSum(), 1, Function.FLAG_DETERMINISTIC);
    }

    @Override
    protected void xStep() throws SQLException {
        if (value_type(0) == SQLITE_NULL) {
            return;
        }
        String text = value_text(0);
        try {
            sum = sum.add(new BigDecimal(text.strip()));
        } catch (NumberFormatException e) {
            error("easel_decimal_sum: not a decimal number: '" + text + "'");
        }
    }

    @Override
    protected void xFinal() throws SQLException {
        result(sum.toPlainString());
    }
}
