package dev.easel.proxy.spend;

import dev.easel.config.ConfigException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Where spend rows live: a JDBC URL with its user and password kept apart, so that {@link #display()} (used in
 * logs, health and errors) never shows a password.
 */
record DatabaseTarget(Dialect dialect, String jdbcUrl, String user, String password, String display) {

    enum Dialect { SQLITE, POSTGRESQL }

    static DatabaseTarget sqlite(Path file) {
        Path abs = file.toAbsolutePath();
        return new DatabaseTarget(Dialect.SQLITE, "jdbc:sqlite:" + abs, null, null, "sqlite:" + abs);
    }

    /**
     * Parses {@code general_settings.database_url}: {@code postgresql://user:pass@host:port/db?…} (LiteLLM's form,
     * also {@code postgres://}), {@code jdbc:postgresql://…} or {@code jdbc:sqlite:path}.
     */
    static DatabaseTarget parse(String url) {
        String u = url.strip();
        String lower = u.toLowerCase(Locale.ROOT);
        if (lower.startsWith("jdbc:sqlite:")) {
            return new DatabaseTarget(Dialect.SQLITE, u, null, null, u);
        }
        if (lower.startsWith("jdbc:postgresql:")) {
            return new DatabaseTarget(Dialect.POSTGRESQL, u, null, null, stripQuery(u));
        }
        if (lower.startsWith("postgresql://") || lower.startsWith("postgres://")) {
            URI uri;
            try {
                uri = new URI(u);
            } catch (URISyntaxException e) {
                throw new ConfigException("general_settings.database_url: not a valid URL (" + e.getReason() + ")");
            }
            if (uri.getHost() == null) {
                throw new ConfigException("general_settings.database_url: missing host in postgresql://user:"
                        + "password@host:port/database");
            }
            String user = null;
            String password = null;
            String info = uri.getRawUserInfo();
            if (info != null) {
                int colon = info.indexOf(':');
                user = decode(colon < 0 ? info : info.substring(0, colon));
                password = colon < 0 ? null : decode(info.substring(colon + 1));
            }
            String hostPort = uri.getHost() + (uri.getPort() > 0 ? ":" + uri.getPort() : "");
            String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
            String jdbc = "jdbc:postgresql://" + hostPort + path + (uri.getRawQuery() == null ? ""
                    : "?" + uri.getRawQuery());
            return new DatabaseTarget(Dialect.POSTGRESQL, jdbc, user, password,
                    "postgresql://" + (user == null ? "" : user + "@") + hostPort + path);
        }
        int colon = u.indexOf(':');
        String scheme = colon < 0 ? "" : u.substring(0, colon);
        throw new ConfigException("general_settings.database_url: expected postgresql://user:password@host:port/"
                + "database, jdbc:postgresql://… or jdbc:sqlite:path (was a URL with scheme '" + scheme + "')");
    }

    private static String stripQuery(String url) {
        int q = url.indexOf('?');
        return q < 0 ? url : url.substring(0, q);
    }

    private static String decode(String s) {
        return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8); // '+' is literal in user info
    }

    @Override
    public String toString() {
        return display;
    }
}
