package dev.easel.cli.fleet;

import dev.easel.testkit.Await;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;

/**
 * Several Easel proxies as separate processes sharing one real PostgreSQL (and, with {@link Builder#redis()}, one
 * real Redis), as a deployment behind a load balancer runs them: one config file for all (its secrets and addresses
 * as {@code os.environ/NAME}, like a Kubernetes ConfigMap), one data directory each.
 *
 * <pre>{@code
 * try (Fleet fleet = Fleet.builder(dir).replicas(3).postgres().redis()
 *         .modelList(Fleet.openAiGroup("edit", fake, UPSTREAM_KEY)).start()) {
 *     fleet.replica(1).sigterm();               // a rolling restart's stop
 *     fleet.postgres().stop();                  // a database outage
 * }
 * }</pre>
 *
 * <p>The replicas are the real CLI ({@code dev.easel.cli.Main proxy}) on this test's classpath, each in a JVM with a
 * small heap ({@code -Xmx256m}) so three fit on a 2-core, 7 GB CI machine. {@link #close()} kills whatever still
 * runs; so does a shutdown hook if the test JVM ends first, so no process outlives the build.
 */
public final class Fleet implements AutoCloseable {

    /** The master key every replica requires ({@code general_settings.master_key: os.environ/EASEL_MASTER_KEY}). */
    public static final String MASTER_KEY = "sk-fleet-master-0014";

    /** JVM options of each replica. */
    static final List<String> JVM_OPTIONS = List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError");

    private final Path dir;
    private final Path config;
    private final List<Replica> replicas;
    private final FleetPostgres postgres;
    private final FleetRedis redis;
    private final HttpClient http;
    private final Thread reaper;

    private Fleet(Path dir, Path config, List<Replica> replicas, FleetPostgres postgres, FleetRedis redis,
                  HttpClient http) {
        this.dir = dir;
        this.config = config;
        this.replicas = List.copyOf(replicas);
        this.postgres = postgres;
        this.redis = redis;
        this.http = http;
        // the test JVM may end without @AfterAll (a surefire time-out): its children must not outlive it
        this.reaper = new Thread(this::killAll, "fleet-reaper");
        Runtime.getRuntime().addShutdownHook(reaper);
    }

    /** A fleet whose files (config, data directories, database) live under {@code dir}. */
    public static Builder builder(Path dir) {
        return new Builder(dir);
    }

    /**
     * A {@code model_list} entry: group {@code name} served by OpenAI's route of {@code fake} with {@code apiKey}
     * ({@code openai/gpt-image-2}; a key the fake does not accept makes every call a 401 from upstream).
     */
    public static String openAiGroup(String name, dev.easel.testkit.FakeOpenAi fake, String apiKey) {
        return """
                - model_name: %s
                  litellm_params: {model: openai/gpt-image-2, api_key: "%s", api_base: "%s"}
                """.formatted(name, apiKey, fake.baseUrl());
    }

    /** The replicas, in order. */
    public List<Replica> replicas() {
        return replicas;
    }

    /** Replica {@code i}, from 0. */
    public Replica replica(int i) {
        return replicas.get(i);
    }

    /** How many replicas. */
    public int size() {
        return replicas.size();
    }

    /** The PostgreSQL every replica writes spend rows to. */
    public FleetPostgres postgres() {
        if (postgres == null) {
            throw new IllegalStateException("this fleet has no PostgreSQL (Fleet.builder(...).postgres())");
        }
        return postgres;
    }

    /** The Redis every replica is configured with. */
    public FleetRedis redis() {
        if (redis == null) {
            throw new IllegalStateException("this fleet has no Redis (Fleet.builder(...).redis())");
        }
        return redis;
    }

    /** The one config file all replicas run. */
    public Path config() {
        return config;
    }

    /** The directory everything lives under. */
    public Path dir() {
        return dir;
    }

    /**
     * Brings the fleet back to its starting state after a test that broke it on purpose (or failed half-way): the
     * database and Redis run, every replica runs and is ready.
     */
    public void ensureRunning() {
        if (postgres != null) {
            postgres.start();
        }
        if (redis != null) {
            redis.start();
        }
        startAll(replicas.stream().filter(r -> !r.running()).toList());
    }

    /**
     * Waits until every running replica has written all its spend rows: each reports the store connected and a
     * backlog of 0 on {@code /health/readiness}.
     */
    public void awaitSpendWritten(Duration timeout) {
        Await.value("every replica's spend rows written (db connected, backlog 0)", timeout, () -> replicas.stream()
                        .filter(Replica::running)
                        .map(r -> r.index() + ": " + r.readiness().db() + " backlog " + r.readiness().backlog())
                        .collect(Collectors.joining(", ")),
                s -> replicas.stream().filter(Replica::running).allMatch(r -> {
                    Replica.Readiness ready = r.readiness();
                    return ready.db().equals("connected") && ready.backlog() == 0;
                }));
    }

    /** Every replica's state and last output, for assertion messages. */
    public String describe() {
        return replicas.stream().map(Replica::describe).collect(Collectors.joining("\n"));
    }

    @Override
    public void close() {
        killAll();
        try {
            Runtime.getRuntime().removeShutdownHook(reaper);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs anyway
        }
        http.close();
    }

    private void killAll() {
        replicas.forEach(Replica::kill);
        if (redis != null) {
            redis.close();
        }
        if (postgres != null) {
            postgres.close();
        }
    }

    /** Starts {@code some} at once (as a Deployment's pods start) and waits until each is ready. */
    private static void startAll(List<Replica> some) {
        if (some.isEmpty()) {
            return;
        }
        try (ExecutorService starters = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> started = new ArrayList<>();
            for (Replica r : some) {
                started.add(starters.submit(r::start));
            }
            for (Future<?> f : started) {
                try {
                    f.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    if (e.getCause() instanceof Error err) {
                        throw err;
                    }
                    throw new IllegalStateException(e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
            }
        }
    }

    /** What the fleet is made of; {@link #start()} starts it. */
    public static final class Builder {
        private final Path dir;
        private int replicas = 3;
        private boolean withPostgres;
        private boolean withRedis;
        private String modelList = "";
        private String routerSettings = "";
        private String generalSettings = "";
        private final Map<String, String> env = new LinkedHashMap<>();

        private Builder(Path dir) {
            this.dir = Objects.requireNonNull(dir, "dir");
        }

        /** How many proxy processes (default 3). */
        public Builder replicas(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("replicas must be at least 1 (was " + n + ")");
            }
            this.replicas = n;
            return this;
        }

        /** One PostgreSQL for all: {@code general_settings.database_url: os.environ/DATABASE_URL}. */
        public Builder postgres() {
            this.withPostgres = true;
            return this;
        }

        /** One Redis for all: {@code router_settings.redis_host/redis_port: os.environ/REDIS_HOST/REDIS_PORT}. */
        public Builder redis() {
            this.withRedis = true;
            return this;
        }

        /** The {@code model_list} entries (YAML list items, e.g. from {@link #openAiGroup}); appended. */
        public Builder modelList(String entries) {
            this.modelList += entries.endsWith("\n") ? entries : entries + "\n";
            return this;
        }

        /** Extra {@code router_settings} lines ({@code num_retries: 0}); appended. */
        public Builder routerSettings(String lines) {
            this.routerSettings += lines.endsWith("\n") ? lines : lines + "\n";
            return this;
        }

        /** Extra {@code general_settings} lines ({@code grace_period: 20}); appended. */
        public Builder generalSettings(String lines) {
            this.generalSettings += lines.endsWith("\n") ? lines : lines + "\n";
            return this;
        }

        /** An environment variable for every replica (for {@code os.environ/NAME} in the added settings). */
        public Builder env(String name, String value) {
            env.put(name, value);
            return this;
        }

        /**
         * Starts the servers, writes the config, starts every replica at once and returns when all are ready.
         *
         * @throws AssertionError naming the replica and showing its output when one does not start
         */
        public Fleet start() {
            if (modelList.isBlank()) {
                throw new IllegalStateException("a fleet needs a model_list (Builder.modelList)");
            }
            FleetPostgres pg = null;
            FleetRedis rd = null;
            Fleet fleet = null;
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(5)).build();
            try {
                Files.createDirectories(dir);
                Map<String, String> vars = new LinkedHashMap<>();
                vars.put("EASEL_MASTER_KEY", MASTER_KEY);
                if (withPostgres) {
                    pg = FleetPostgres.start(dir.resolve("pgdata"));
                    vars.put("DATABASE_URL", pg.databaseUrl());
                }
                if (withRedis) {
                    rd = FleetRedis.start(dir.resolve("redis"));
                    vars.put("REDIS_HOST", rd.host());
                    vars.put("REDIS_PORT", Integer.toString(rd.port()));
                }
                vars.putAll(env);
                Path config = Files.writeString(dir.resolve("config.yaml"), yaml());
                String java = ProcessHandle.current().info().command().orElseThrow();
                List<String> command = new ArrayList<>();
                command.add(java);
                command.addAll(JVM_OPTIONS);
                command.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.easel.cli.Main", "proxy",
                        "--config", config.toString(), "--host", "127.0.0.1"));
                List<Replica> list = new ArrayList<>();
                for (int i = 0; i < replicas; i++) {
                    list.add(new Replica(i, dir.resolve("replica-" + i), command, vars, http));
                }
                fleet = new Fleet(dir, config, list, pg, rd, http);
                startAll(list);
                return fleet;
            } catch (IOException e) {
                cleanUp(fleet, pg, rd, http);
                throw new UncheckedIOException("cannot set up the fleet in " + dir, e);
            } catch (RuntimeException | Error e) {
                cleanUp(fleet, pg, rd, http);
                throw e;
            }
        }

        /** The config file every replica runs. */
        String yaml() {
            StringBuilder y = new StringBuilder("model_list:\n").append(modelList.indent(2));
            String router = (withRedis ? "redis_host: os.environ/REDIS_HOST\nredis_port: os.environ/REDIS_PORT\n" : "")
                    + routerSettings;
            if (!router.isBlank()) {
                y.append("router_settings:\n").append(router.indent(2));
            }
            y.append("general_settings:\n").append(("master_key: os.environ/EASEL_MASTER_KEY\n"
                    + (withPostgres ? "database_url: os.environ/DATABASE_URL\n" : "") + generalSettings).indent(2));
            return y.toString();
        }

        /** Stops what a failed start had started. */
        private static void cleanUp(Fleet fleet, FleetPostgres pg, FleetRedis rd, HttpClient http) {
            if (fleet != null) {
                fleet.close();
                return;
            }
            Optional.ofNullable(rd).ifPresent(FleetRedis::close);
            Optional.ofNullable(pg).ifPresent(FleetPostgres::close);
            http.close();
        }
    }
}
