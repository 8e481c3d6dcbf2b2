package dev.easel.proxy.metrics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A small parser of the Prometheus text format ({@code name{label="value",...} value}) for assertions. */
final class PromText {

    record Sample(String name, Map<String, String> labels, double value) {
    }

    private final List<Sample> samples = new ArrayList<>();

    static PromText parse(String text) {
        PromText p = new PromText();
        for (String line : text.split("\n")) {
            if (!line.isBlank() && !line.startsWith("#")) {
                p.samples.add(sample(line));
            }
        }
        return p;
    }

    private static Sample sample(String line) {
        int brace = line.indexOf('{');
        int space = line.indexOf(' ');
        Map<String, String> labels = new LinkedHashMap<>();
        String name;
        int i;
        if (brace >= 0 && brace < space) {
            name = line.substring(0, brace);
            i = brace + 1;
            while (line.charAt(i) != '}') {
                int eq = line.indexOf('=', i);
                StringBuilder value = new StringBuilder();
                int j = eq + 2; // skip ="
                for (; line.charAt(j) != '"'; j++) {
                    char c = line.charAt(j);
                    value.append(c == '\\' ? unescape(line.charAt(++j)) : c);
                }
                labels.put(line.substring(i, eq), value.toString());
                i = line.charAt(j + 1) == ',' ? j + 2 : j + 1;
            }
            i++;
        } else {
            name = line.substring(0, space);
            i = space;
        }
        String number = line.substring(i).trim().split(" ")[0];
        double value = number.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(number);
        return new Sample(name, labels, value);
    }

    private static char unescape(char c) {
        return c == 'n' ? '\n' : c;
    }

    /** Sum of the samples called {@code name} whose labels include the given pairs (key, value, ...). */
    double sum(String name, String... labels) {
        double total = 0;
        boolean found = false;
        for (Sample s : samples) {
            if (!s.name().equals(name)) {
                continue;
            }
            boolean match = true;
            for (int k = 0; k < labels.length; k += 2) {
                match &= labels[k + 1].equals(s.labels().get(labels[k]));
            }
            if (match) {
                total += s.value();
                found = true;
            }
        }
        return found ? total : Double.NaN;
    }

    List<Sample> all(String name) {
        return samples.stream().filter(s -> s.name().equals(name)).toList();
    }
}
