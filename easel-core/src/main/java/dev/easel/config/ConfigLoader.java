package dev.easel.config;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * Loads a LiteLLM proxy {@code config.yaml} into an {@link EaselConfig}. Every key that is not acted on is
 * reported once (see {@link EaselConfig#warnings()}); invalid values, and keys that are near misses of known ones
 * ({@code api_bse}), throw a {@link ConfigException} naming the file and the YAML path. {@code os.environ/NAME} values are read from the environment, after the file's
 * {@code environment_variables} are added to it (the process environment itself is never changed).
 */
public final class ConfigLoader {

    private ConfigLoader() {
    }

    /** Loads {@code file}, reading {@code os.environ/NAME} from the process environment. */
    public static EaselConfig load(Path file) {
        return load(file, System.getenv());
    }

    /** Loads {@code file}, reading {@code os.environ/NAME} from {@code env}. */
    public static EaselConfig load(Path file, Map<String, String> env) {
        Objects.requireNonNull(file, "file");
        String yaml;
        try {
            yaml = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file + ": file not found", e);
        } catch (CharacterCodingException e) {
            throw new ConfigException(file + ": not valid UTF-8", e);
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read (" + e + ")", e);
        }
        return parse(yaml, env, file.toString());
    }

    /**
     * Parses YAML text; {@code sourceName} starts every error message (usually the file name).
     */
    public static EaselConfig parse(String yaml, Map<String, String> env, String sourceName) {
        Objects.requireNonNull(yaml, "yaml");
        Objects.requireNonNull(env, "env");
        Objects.requireNonNull(sourceName, "sourceName");
        return new ConfigReader(sourceName, env).read(YamlTree.parse(yaml, sourceName));
    }
}
