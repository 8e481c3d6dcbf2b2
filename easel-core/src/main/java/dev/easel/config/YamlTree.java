package dev.easel.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import com.fasterxml.jackson.dataformat.yaml.snakeyaml.error.Mark;
import com.fasterxml.jackson.dataformat.yaml.snakeyaml.error.MarkedYAMLException;
import java.io.IOException;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A YAML document as a small tree that keeps each scalar's source text, so numbers such as
 * {@code 5.0e-06} convert to {@link BigDecimal} exactly and string fields get what the user typed.
 * Anchors, aliases and merge keys ({@code <<: *base}) are resolved; duplicate keys are an error.
 */
final class YamlTree {

    private static final YAMLFactory FACTORY = new YAMLFactory();

    /** A node of the tree. */
    sealed interface Node permits MapNode, SeqNode, Scalar {
    }

    /** A mapping, keys in document order. */
    record MapNode(Map<String, Node> entries) implements Node {
    }

    /** A sequence. */
    record SeqNode(List<Node> items) implements Node {
    }

    /** What the YAML resolver made of a plain scalar. */
    enum Kind { STRING, INT, FLOAT, BOOL, NULL }

    /**
     * A scalar: its kind, the text as written, and its value (String, BigDecimal for INT/FLOAT, Boolean,
     * or null for NULL).
     */
    record Scalar(Kind kind, String text, Object value) implements Node {
    }

    private final String sourceName;
    private final YAMLParser parser;
    private final Map<String, Node> anchors = new HashMap<>();

    private YamlTree(String sourceName, YAMLParser parser) {
        this.sourceName = sourceName;
        this.parser = parser;
    }

    /** Parses {@code yaml}; an empty document gives an empty mapping. */
    static Node parse(String yaml, String sourceName) {
        try (YAMLParser p = (YAMLParser) FACTORY.createParser(yaml)) {
            YamlTree tree = new YamlTree(sourceName, p);
            JsonToken first = p.nextToken();
            if (first == null) {
                return new MapNode(Map.of());
            }
            Node root = tree.read(first);
            if (p.nextToken() != null) {
                throw tree.error(p.currentTokenLocation(), "expected a single document");
            }
            return root;
        } catch (MarkedYAMLException e) {
            Mark mark = e.getProblemMark();
            String where = mark == null ? ""
                    : " at line " + (mark.getLine() + 1) + ", column " + (mark.getColumn() + 1);
            String context = e.getContext() == null ? "" : " (" + e.getContext() + ")";
            throw new ConfigException(sourceName + ": invalid YAML" + where + ": " + e.getProblem() + context, e);
        } catch (JsonProcessingException e) {
            JsonLocation loc = e.getLocation();
            String where = loc == null ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
            throw new ConfigException(sourceName + ": invalid YAML" + where + ": " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new ConfigException(sourceName + ": cannot parse: " + e.getMessage(), e);
        }
    }

    private Node read(JsonToken token) throws IOException {
        if (parser.isCurrentAlias()) {
            Node target = anchors.get(parser.getText());
            if (target == null) {
                throw error(parser.currentTokenLocation(), "unknown alias '*" + parser.getText() + "'");
            }
            return target;
        }
        String anchor = parser.getObjectId();
        Node node = switch (token) {
            case START_OBJECT -> readMap();
            case START_ARRAY -> readSeq();
            case VALUE_STRING -> new Scalar(Kind.STRING, parser.getText(), parser.getText());
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> number(token);
            case VALUE_TRUE -> new Scalar(Kind.BOOL, parser.getText(), Boolean.TRUE);
            case VALUE_FALSE -> new Scalar(Kind.BOOL, parser.getText(), Boolean.FALSE);
            case VALUE_NULL -> new Scalar(Kind.NULL, parser.getText(), null);
            default -> throw error(parser.currentTokenLocation(), "unexpected " + token);
        };
        if (anchor != null) {
            anchors.put(anchor, node);
        }
        return node;
    }

    private Scalar number(JsonToken token) throws IOException {
        String text = parser.getText();
        try {
            BigDecimal value = token == JsonToken.VALUE_NUMBER_INT
                    ? new BigDecimal(parser.getBigIntegerValue()) // handles 0x1F, 0o17, 1_000
                    : new BigDecimal(text.replace("_", ""));
            return new Scalar(token == JsonToken.VALUE_NUMBER_INT ? Kind.INT : Kind.FLOAT, text, value);
        } catch (NumberFormatException | JsonProcessingException e) {
            // .inf, .nan and friends: keep as text; numeric fields reject them with the path
            return new Scalar(Kind.STRING, text, text);
        }
    }

    private MapNode readMap() throws IOException {
        Map<String, Node> entries = new LinkedHashMap<>();
        List<Node> merges = new ArrayList<>();
        JsonToken t;
        while ((t = parser.nextToken()) == JsonToken.FIELD_NAME) {
            String key = parser.currentName();
            JsonLocation keyLocation = parser.currentTokenLocation();
            Node value = read(parser.nextToken());
            if (key.equals("<<")) {
                merges.add(value);
            } else if (entries.putIfAbsent(key, value) != null) {
                throw error(keyLocation, "duplicate key '" + key + "'");
            }
        }
        if (t != JsonToken.END_OBJECT) {
            throw error(parser.currentTokenLocation(), "unexpected " + t);
        }
        for (Node merge : merges) {
            // explicit keys win over merged ones; earlier merge sources win over later ones
            List<Node> sources = merge instanceof SeqNode seq ? seq.items() : List.of(merge);
            for (Node source : sources) {
                if (!(source instanceof MapNode map)) {
                    throw error(parser.currentTokenLocation(), "merge key '<<' needs a mapping or a list of mappings");
                }
                map.entries().forEach(entries::putIfAbsent);
            }
        }
        return new MapNode(entries);
    }

    private SeqNode readSeq() throws IOException {
        List<Node> items = new ArrayList<>();
        JsonToken t;
        while ((t = parser.nextToken()) != JsonToken.END_ARRAY) {
            if (t == null) {
                throw error(parser.currentTokenLocation(), "unexpected end of document");
            }
            items.add(read(t));
        }
        return new SeqNode(items);
    }

    private ConfigException error(JsonLocation loc, String problem) {
        return new ConfigException(sourceName + ": invalid YAML at line " + loc.getLineNr() + ", column "
                + loc.getColumnNr() + ": " + problem);
    }

    /** "a string", "a list", … for error messages that must not echo the value. */
    static String describe(Node node) {
        return switch (node) {
            case MapNode m -> "a mapping";
            case SeqNode s -> "a list";
            case Scalar s when s.kind() == Kind.NULL -> "null";
            case Scalar s when s.kind() == Kind.STRING -> "'" + s.text() + "'";
            case Scalar s -> s.text();
        };
    }

    static boolean isNull(Node node) {
        return node == null || node instanceof Scalar s && s.kind() == Kind.NULL;
    }
}
