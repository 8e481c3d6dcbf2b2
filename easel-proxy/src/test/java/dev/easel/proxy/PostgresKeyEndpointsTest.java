package dev.easel.proxy;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.sql.Connection;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** {@link KeyEndpointsTest} with {@code general_settings.database_url} on a real (embedded) PostgreSQL. */
class PostgresKeyEndpointsTest extends KeyEndpointsTest {

    private static EmbeddedPostgres pg;
    private static final AtomicInteger DATABASES = new AtomicInteger();

    @BeforeAll
    static void startPostgres() throws Exception {
        pg = EmbeddedPostgres.builder().start();
    }

    @AfterAll
    static void stopPostgres() throws Exception {
        if (pg != null) {
            pg.close();
        }
    }

    @Override
    String generalSettings() throws Exception {
        String db = "keys_api_" + DATABASES.incrementAndGet();
        try (Connection c = pg.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + db);
        }
        return "database_url: postgresql://postgres:secret@localhost:" + pg.getPort() + "/" + db + "\n";
    }
}
