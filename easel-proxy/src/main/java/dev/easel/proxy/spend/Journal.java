package dev.easel.proxy.spend;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The append-only local journal: one JSON line per spend row, written with one {@code write} call and no
 * fsync, so a row survives a process kill (it is in the OS page cache) at the cost of a system call.
 *
 * <p>Rows go to the active file ({@code spend.journal}). The writer seals it (renames it to
 * {@code spend.journal.000000000007}) before writing its rows to the database and deletes the sealed file once
 * they are committed. At start every file left behind is a segment to replay.
 */
final class Journal implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Journal.class);

    private final Path active;
    private final Pattern segmentName;
    private FileChannel channel;
    private long activeBytes;
    private long nextSeq;
    private boolean closed;

    /** What a segment file held. */
    record Contents(List<SpendRecord> rows, int badLines) {
    }

    Journal(Path active) throws IOException {
        this.active = active.toAbsolutePath();
        this.segmentName = Pattern.compile(Pattern.quote(this.active.getFileName().toString()) + "\\.(\\d+)");
        Files.createDirectories(this.active.getParent());
        long max = 0;
        for (Path p : sealed()) {
            max = Math.max(max, seqOf(p));
        }
        nextSeq = max + 1;
        if (Files.exists(this.active) && Files.size(this.active) > 0) {
            moveToSegment(); // rows of a previous run: replayed like any sealed segment
        }
        open();
    }

    private void open() throws IOException {
        channel = FileChannel.open(active, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
        activeBytes = channel.size();
    }

    /** Appends one row as a JSON line. After {@link #close()} it still appends, opening the file each time. */
    synchronized void append(String json) throws IOException {
        byte[] line = (json + "\n").getBytes(StandardCharsets.UTF_8);
        if (closed) {
            Files.write(active, line, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND);
            return;
        }
        ByteBuffer buf = ByteBuffer.wrap(line);
        while (buf.hasRemaining()) {
            channel.write(buf);
        }
        activeBytes += line.length;
    }

    /** Bytes in the active file. */
    synchronized long activeBytes() {
        return activeBytes;
    }

    /** Renames the active file to the next segment and starts a new one; null when the active file is empty. */
    synchronized Path seal() throws IOException {
        if (closed || activeBytes == 0) {
            return null;
        }
        channel.close();
        Path segment;
        try {
            segment = moveToSegment();
        } finally {
            open();
        }
        return segment;
    }

    private Path moveToSegment() throws IOException {
        Path segment = active.resolveSibling(active.getFileName() + "." + String.format("%012d", nextSeq++));
        Files.move(active, segment, StandardCopyOption.ATOMIC_MOVE);
        return segment;
    }

    /** Sealed segments, oldest first. */
    List<Path> sealed() throws IOException {
        List<Path> out = new ArrayList<>();
        try (var files = Files.list(active.getParent())) {
            files.filter(p -> segmentName.matcher(p.getFileName().toString()).matches()).forEach(out::add);
        }
        out.sort((a, b) -> Long.compare(seqOf(a), seqOf(b)));
        return out;
    }

    private long seqOf(Path p) {
        Matcher m = segmentName.matcher(p.getFileName().toString());
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    /** Bytes in the active file and every sealed segment. */
    long totalBytes() {
        long total = 0;
        try {
            for (Path p : sealed()) {
                total += Files.size(p);
            }
            if (Files.exists(active)) {
                total += Files.size(active);
            }
        } catch (IOException e) {
            LOG.debug("cannot size the journal: {}", e.toString());
        }
        return total;
    }

    /**
     * Reads a segment. A last line without its newline was cut by a kill during the write: the row never
     * reached the journal, so it was never acknowledged either; it is skipped. Other bad lines are counted.
     */
    static Contents read(Path segment) throws IOException {
        List<SpendRecord> rows = new ArrayList<>();
        int bad = 0;
        String text = Files.readString(segment, StandardCharsets.UTF_8);
        boolean complete = text.endsWith("\n");
        try (BufferedReader r = new BufferedReader(new java.io.StringReader(text))) {
            List<String> lines = r.lines().toList();
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i);
                if (line.isBlank()) {
                    continue;
                }
                if (i == lines.size() - 1 && !complete) {
                    LOG.warn("{}: skipping a partly written last line ({} bytes)", segment.getFileName(),
                            line.length());
                    continue;
                }
                try {
                    rows.add(SpendJson.parse(line));
                } catch (IOException | RuntimeException e) {
                    bad++;
                    LOG.error("{}: line {} is not a spend row ({}); skipped", segment.getFileName(), i + 1,
                            e.getMessage());
                }
            }
        }
        return new Contents(rows, bad);
    }

    /** Deletes a segment whose rows are in the database. */
    static void delete(Path segment) throws IOException {
        Files.deleteIfExists(segment);
    }

    Path path() {
        return active;
    }

    @Override
    public synchronized void close() throws IOException {
        if (!closed) {
            closed = true;
            channel.close();
        }
    }
}
