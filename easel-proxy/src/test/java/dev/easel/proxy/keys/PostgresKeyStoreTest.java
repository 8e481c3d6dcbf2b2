package dev.easel.proxy.keys;

import dev.easel.proxy.spend.SpendOptions;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/** The key store contract on a real PostgreSQL (embedded, one database per test; replicas share it). */
class PostgresKeyStoreTest extends KeyStoreContract {

    private static EmbeddedPostgres pg;
    private static final AtomicInteger DATABASES = new AtomicInteger();
    private String database;

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
    @BeforeEach
    void open() throws Exception {
        database = "keys_" + DATABASES.incrementAndGet();
        try (Connection c = pg.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + database);
        }
        super.open();
    }

    @Override
    SpendOptions options(Path dataDir) {
        return SpendOptions.sqlite(dataDir).withDatabaseUrl(Optional.of(
                "postgresql://postgres:secret@localhost:" + pg.getPort() + "/" + database));
    }
}
