package dev.easel.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * nginx as the reference reverse proxy of the bench's third path (client → nginx → the same fake upstream): what a
 * gateway that does nothing but forward costs on this machine, in the same run as Easel. nginx comes from the
 * system ({@code -Dbench.nginx=/path}, else {@code nginx} on the usual paths); without it the row says so.
 *
 * <p>The configuration is a plain, fair reverse proxy: two workers (the machine's cores), keep-alive to the upstream,
 * request and response bodies streamed rather than buffered to disk (nginx's defaults would spool bodies over 16 KB
 * to temp files, which measures the disk, not the proxy), no access log (Easel's request log is also off the hot
 * path: it writes behind).
 */
final class Nginx {

    private Nginx() {
    }

    /** The nginx binary to run, if the machine has one. */
    static Optional<Path> find() {
        String configured = System.getProperty("bench.nginx", "").strip();
        if (!configured.isEmpty()) {
            Path p = Path.of(configured);
            if (!Files.isExecutable(p)) {
                throw new IllegalArgumentException("-Dbench.nginx=" + configured + " is not an executable file");
            }
            return Optional.of(p);
        }
        for (String dir : (System.getenv().getOrDefault("PATH", "") + ":/usr/sbin:/usr/local/sbin:/usr/local/nginx/sbin")
                .split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "nginx"))) {
                return Optional.of(Path.of(dir, "nginx"));
            }
        }
        return Optional.empty();
    }

    /** The configuration: listen on {@code port}, forward everything to the fake on {@code upstreamPort}. */
    static String config(Path work, int port, int upstreamPort, int workers) {
        String tmp = work.resolve("nginx-tmp").toString();
        return """
                daemon off;
                master_process on;
                worker_processes %d;
                worker_rlimit_nofile 65536;
                pid %s;
                error_log %s warn;
                events { worker_connections 16384; }
                http {
                    access_log off;
                    client_body_temp_path %s/body;
                    proxy_temp_path %s/proxy;
                    fastcgi_temp_path %s/fastcgi;
                    uwsgi_temp_path %s/uwsgi;
                    scgi_temp_path %s/scgi;
                    client_max_body_size 0;
                    keepalive_requests 1000000;
                    upstream fake {
                        server 127.0.0.1:%d;
                        keepalive 256;
                    }
                    server {
                        listen 127.0.0.1:%d;
                        location / {
                            proxy_pass http://fake;
                            proxy_http_version 1.1;
                            proxy_set_header Connection "";
                            proxy_request_buffering off;
                            proxy_buffering off;
                            proxy_read_timeout 600s;
                            proxy_send_timeout 600s;
                        }
                    }
                }
                """.formatted(workers, work.resolve("nginx.pid"), work.resolve("nginx-error.log"), tmp, tmp, tmp, tmp,
                tmp, upstreamPort, port);
    }

    /** Writes the configuration and the temp directories; returns the command that runs nginx in the foreground. */
    static List<String> command(Path binary, Path work, int port, int upstreamPort, int workers) throws IOException {
        Files.createDirectories(work.resolve("nginx-tmp"));
        Path conf = work.resolve("nginx.conf");
        Files.writeString(conf, config(work, port, upstreamPort, workers));
        return List.of(binary.toString(), "-p", work.toString(), "-c", conf.toString());
    }
}
