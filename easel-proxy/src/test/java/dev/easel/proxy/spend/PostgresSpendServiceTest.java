package dev.easel.proxy.spend;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The spend contract on a real PostgreSQL (embedded, started once for the class; one database per test). */
class PostgresSpendServiceTest extends SpendServiceContract {

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
    SpendOptions freshOptions(Path dataDir) throws Exception {
        String db = "spend_" + DATABASES.incrementAndGet();
        try (Connection c = pg.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + db);
        }
        // LiteLLM's URL form, as general_settings.database_url holds it
        return SpendOptions.sqlite(dataDir).withDatabaseUrl(Optional.of(
                "postgresql://postgres:secret@localhost:" + pg.getPort() + "/" + db));
    }
}
