package dev.easel.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.provider.ProviderRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code docs/config.md} against the reader: every key Easel reads has a row in its section's table, and every
 * row names a key Easel knows. Built-in providers' settings have rows in the provider settings table.
 */
class ConfigDocsTest {

    private static final Path DOC = Path.of("..", "docs", "config.md");
    /** Headings of the tables, as written in the doc, to the key sets of {@link ConfigKeys}. */
    private static final Map<String, String> SECTIONS = Map.of(
            "Top-level keys", ConfigKeys.TOP,
            "`model_list`", ConfigKeys.MODEL_ENTRY,
            "`litellm_params`", ConfigKeys.LITELLM_PARAMS,
            "`model_info`", ConfigKeys.MODEL_INFO,
            "`router_settings`", ConfigKeys.ROUTER_SETTINGS,
            "`litellm_settings`", ConfigKeys.LITELLM_SETTINGS,
            "`general_settings`", ConfigKeys.GENERAL_SETTINGS,
            "`general_settings.image_store`", ConfigKeys.IMAGE_STORE);
    private static final String PROVIDER_SETTINGS = "Provider settings";
    private static final Pattern HEADING = Pattern.compile("^#{2,3} (.+)$");
    private static final Pattern ROW = Pattern.compile("^\\| *`([^`]+)` *\\|(.*)$");

    /** Heading → the first column of each row of the table under it (keys in backticks only). */
    static Map<String, List<String[]>> tables;

    @BeforeAll
    static void read() throws IOException {
        assertThat(DOC).exists();
        tables = new LinkedHashMap<>();
        String heading = null;
        for (String line : Files.readAllLines(DOC, StandardCharsets.UTF_8)) {
            Matcher h = HEADING.matcher(line);
            if (h.matches()) {
                heading = h.group(1).strip();
                continue;
            }
            Matcher r = ROW.matcher(line);
            if (heading != null && r.matches()) {
                String[] cells = r.group(2).split("\\|");
                tables.computeIfAbsent(heading, k -> new java.util.ArrayList<>())
                        .add(new String[] {r.group(1), cells.length > 0 ? cells[0].strip() : ""});
            }
        }
    }

    private static Set<String> documented(String heading) {
        assertThat(tables).as("a table under '%s' in %s", heading, DOC).containsKey(heading);
        Set<String> keys = new TreeSet<>();
        tables.get(heading).forEach(row -> keys.add(row[0]));
        return keys;
    }

    @Test
    void everyKeyTheReaderReads_hasARowInItsSection() {
        SECTIONS.forEach((heading, section) -> assertThat(documented(heading))
                .as("keys documented under '%s'", heading)
                .containsAll(ConfigKeys.read(section)));
    }

    @Test
    void everyDocumentedKey_isAKeyEaselKnows() {
        SECTIONS.forEach((heading, section) -> assertThat(ConfigKeys.known(section))
                .as("known keys of '%s'", heading)
                .containsAll(documented(heading)));
    }

    @Test
    void everyBuiltInProviderSetting_hasARowInTheProviderSettingsTable() {
        Set<String> rows = new LinkedHashSet<>();
        for (String[] row : tables.getOrDefault(PROVIDER_SETTINGS, List.of())) {
            rows.add(row[1].replace("`", "") + "." + row[0]); // | `key` | `provider` | ...
        }
        Set<String> declared = new LinkedHashSet<>();
        ProviderRegistry installed = ProviderRegistry.installed();
        for (String provider : installed.prefixes()) {
            installed.settingKeys(provider).forEach(k -> declared.add(provider + "." + k));
        }
        assertThat(declared).isNotEmpty();
        assertThat(rows).as("provider settings documented in %s", DOC).containsExactlyInAnyOrderElementsOf(declared);
    }
}
